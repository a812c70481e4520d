#!/usr/bin/env bash
# Makes the certificates the TLS tests use, in DIR (created if missing), with openssl:
#   ca.crt                 the CA the tests trust (--redis-tls-ca)
#   server.crt/.key        signed by it, for localhost and 127.0.0.1
#   client.crt/.key        signed by it, a client certificate for mutual TLS
#   wrongname.crt/.key     signed by it, for not-this-host.example only
#   expired.crt/.key       signed by it, for localhost and 127.0.0.1, expired in 2021
#   untrusted.crt/.key     for localhost and 127.0.0.1, signed by another CA (other-ca.crt)
# EC P-256 keys: fast to make, and every TLS stack here takes them.
# Usage: tests/tls/make-certs.sh DIR
set -euo pipefail
dir=${1:?usage: make-certs.sh DIR}
mkdir -p "$dir"
cd "$dir"
command -v openssl >/dev/null || { echo "make-certs.sh: openssl is missing (apt-get install -y openssl)" >&2; exit 1; }

key() { openssl ecparam -name prime256v1 -genkey -noout -out "$1.key" 2>/dev/null; chmod 600 "$1.key"; }
ca() {
  key "$1"
  openssl req -x509 -new -key "$1.key" -sha256 -days 3650 -subj "/CN=$2" -out "$1.crt" 2>/dev/null
}
request() {  # name subjectAltName
  key "$1"
  openssl req -new -key "$1.key" -subj "/CN=$1" -out "$1.csr" 2>/dev/null
  printf 'subjectAltName=%s\nbasicConstraints=CA:FALSE\nkeyUsage=digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth,clientAuth\n' "$2" > "$1.ext"
}
sign() {  # name ca subjectAltName
  request "$1" "$3"
  openssl x509 -req -in "$1.csr" -CA "$2.crt" -CAkey "$2.key" -CAcreateserial -days 825 -sha256 \
    -extfile "$1.ext" -out "$1.crt" 2>/dev/null
}

ca ca "sessiond test CA"
ca other-ca "some other CA"
sign server ca "DNS:localhost,IP:127.0.0.1"
sign client ca "DNS:sessiond-client"
sign wrongname ca "DNS:not-this-host.example"
sign untrusted other-ca "DNS:localhost,IP:127.0.0.1"

# An expired certificate needs explicit dates, which only `openssl ca` sets.
request expired "DNS:localhost,IP:127.0.0.1"
: > index.txt
echo 1000 > serial
cat > ca.cnf <<'CNF'
[ ca ]
default_ca = test
[ test ]
database = index.txt
new_certs_dir = .
serial = serial
default_md = sha256
policy = anything
unique_subject = no
[ anything ]
commonName = supplied
CNF
openssl ca -batch -notext -config ca.cnf -cert ca.crt -keyfile ca.key -in expired.csr -out expired.crt \
  -startdate 20200101000000Z -enddate 20210101000000Z -extfile expired.ext 2>/dev/null
rm -f ./*.csr ./*.ext ./*.pem index.txt* serial* ca.cnf ./*.srl
