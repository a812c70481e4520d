import Foundation

/// Where settings come from, strongest first: the command line, then
/// `SESSIOND_<NAME>` environment variables, then the `--config` file, then the
/// defaults. Weaker sources are turned into flags appended to the arguments,
/// so one parser (ArgumentParser) validates them all alike.
enum ConfigurationSources {
    struct Failure: Error, CustomStringConvertible {
        let description: String
    }

    static func merge(_ args: [String], environment: [String: String]) throws -> [String] {
        var out = args
        func present(_ name: String) -> Bool {
            args.contains { $0 == "--\(name)" || $0.hasPrefix("--\(name)=") }
        }
        func variable(_ name: String) -> String {
            "SESSIOND_" + name.uppercased().replacingOccurrences(of: "-", with: "_")
        }
        var fromEnvironment = Set<String>()
        for name in ServerOptions.optionNames where !present(name) {
            if let v = environment[variable(name)], !v.isEmpty {
                out.append("--\(name)=\(v)")
                fromEnvironment.insert(name)
            }
        }
        for name in ServerOptions.flagNames where !present(name) {
            if let v = environment[variable(name)] {
                if truthy(v) { out.append("--\(name)") }
                fromEnvironment.insert(name)
            }
        }
        var configPath = environment["SESSIOND_CONFIG"].flatMap { $0.isEmpty ? nil : $0 }
        if let i = args.firstIndex(of: "--config"), i + 1 < args.count {
            configPath = args[i + 1]
        } else if let arg = args.first(where: { $0.hasPrefix("--config=") }) {
            configPath = String(arg.dropFirst("--config=".count))
        }
        if let path = configPath {
            if !present("config") { out.append("--config=\(path)") }
            for (name, value) in try readConfigFile(path) where !present(name) && !fromEnvironment.contains(name) {
                if ServerOptions.flagNames.contains(name) {
                    if truthy(value) { out.append("--\(name)") }
                } else {
                    out.append("--\(name)=\(value)")
                }
            }
        }
        return out
    }

    static func truthy(_ v: String) -> Bool {
        ["1", "true", "yes", "on"].contains(v.lowercased())
    }

    /// `name = value` per line; `#` starts a comment; names are the long option names.
    static func readConfigFile(_ path: String) throws -> [(String, String)] {
        let text: String
        do { text = try String(contentsOfFile: path, encoding: .utf8) } catch {
            throw Failure(description: "cannot read --config \(path): \(error.localizedDescription)")
        }
        var out: [(String, String)] = []
        for (n, raw) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let line = raw.trimmingCharacters(in: .whitespaces)
            if line.isEmpty || line.hasPrefix("#") { continue }
            guard let eq = line.firstIndex(of: "=") else {
                throw Failure(description: "\(path):\(n + 1): expected 'name = value'")
            }
            let name = line[..<eq].trimmingCharacters(in: .whitespaces)
            var value = line[line.index(after: eq)...].trimmingCharacters(in: .whitespaces)
            if value.count >= 2, value.hasPrefix("\""), value.hasSuffix("\"") { value = String(value.dropFirst().dropLast()) }
            guard ServerOptions.optionNames.contains(name) || ServerOptions.flagNames.contains(name) else {
                throw Failure(description: "\(path):\(n + 1): unknown setting '\(name)'")
            }
            out.append((name, value))
        }
        return out
    }
}
