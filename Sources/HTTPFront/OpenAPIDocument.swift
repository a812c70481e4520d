/// The API as OpenAPI 3.1, served at `GET /openapi.yaml`. The document is
/// `openapi.yaml` beside this file, compiled into the binary (SwiftPM's
/// `embedInCode`), so the daemon stays one file to deploy.
enum OpenAPIDocument {
    static let yaml = String(decoding: PackageResources.openapi_yaml, as: UTF8.self)
}
