//! TLS: the generated certificate authority and server certificate of the
//! embedded default, and the rustls server configuration (TLS 1.2 minimum,
//! 1.3 preferred, aws-lc-rs as the crypto provider).

use std::io::BufReader;
use std::path::Path;
use std::sync::Arc;

use rcgen::{
    BasicConstraints, CertificateParams, DistinguishedName, DnType, IsCa, Issuer, KeyPair,
    KeyUsagePurpose,
};
use rustls::pki_types::{CertificateDer, PrivateKeyDer};

/// A generated CA and a server certificate it signed, as PEM.
pub struct GeneratedPki {
    pub ca_cert_pem: String,
    pub ca_key_pem: String,
    pub server_cert_pem: String,
    pub server_key_pem: String,
}

/// Generates a private CA and a server certificate for `names` (DNS names
/// and IP addresses), valid for ten years.
pub fn generate_pki(names: &[String]) -> Result<GeneratedPki, String> {
    let err = |e: rcgen::Error| format!("cannot generate the TLS certificates: {e}");
    let ca_key = KeyPair::generate().map_err(err)?;
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).map_err(err)?;
    let mut dn = DistinguishedName::new();
    dn.push(DnType::CommonName, "Sekisho local CA");
    dn.push(DnType::OrganizationName, "Sekisho");
    ca_params.distinguished_name = dn;
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
    ca_params.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::CrlSign,
        KeyUsagePurpose::DigitalSignature,
    ];
    let now = time::OffsetDateTime::now_utc();
    ca_params.not_before = now - time::Duration::days(1);
    ca_params.not_after = now + time::Duration::days(3650);
    let ca_cert = ca_params.self_signed(&ca_key).map_err(err)?;

    let server_key = KeyPair::generate().map_err(err)?;
    let mut params = CertificateParams::new(names.to_vec()).map_err(err)?;
    let mut dn = DistinguishedName::new();
    dn.push(DnType::CommonName, "Sekisho gateway");
    params.distinguished_name = dn;
    params.not_before = now - time::Duration::days(1);
    params.not_after = now + time::Duration::days(3650);
    params.extended_key_usages = vec![rcgen::ExtendedKeyUsagePurpose::ServerAuth];
    let issuer = Issuer::new(ca_params, &ca_key);
    let server_cert = params.signed_by(&server_key, &issuer).map_err(err)?;
    Ok(GeneratedPki {
        ca_cert_pem: ca_cert.pem(),
        ca_key_pem: ca_key.serialize_pem(),
        server_cert_pem: server_cert.pem(),
        server_key_pem: server_key.serialize_pem(),
    })
}

/// Reads a PEM certificate chain and private key.
pub fn load_pem(
    cert: &Path,
    key: &Path,
) -> Result<(Vec<CertificateDer<'static>>, PrivateKeyDer<'static>), String> {
    let read = |p: &Path| std::fs::read(p).map_err(|e| format!("cannot read {}: {e}", p.display()));
    let cert_bytes = read(cert)?;
    let certs: Vec<CertificateDer<'static>> =
        rustls_pemfile::certs(&mut BufReader::new(cert_bytes.as_slice()))
            .collect::<Result<_, _>>()
            .map_err(|e| format!("{} is not a PEM certificate chain: {e}", cert.display()))?;
    if certs.is_empty() {
        return Err(format!("{} holds no certificate", cert.display()));
    }
    let key_bytes = read(key)?;
    let key_der = rustls_pemfile::private_key(&mut BufReader::new(key_bytes.as_slice()))
        .map_err(|e| format!("{} is not a PEM private key: {e}", key.display()))?
        .ok_or_else(|| format!("{} holds no private key", key.display()))?;
    Ok((certs, key_der))
}

/// A rustls server configuration: TLS 1.3 and 1.2 only, HTTP/2 and
/// HTTP/1.1 by ALPN, the aws-lc-rs provider.
pub fn server_config(
    certs: Vec<CertificateDer<'static>>,
    key: PrivateKeyDer<'static>,
) -> Result<Arc<rustls::ServerConfig>, String> {
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let mut config = rustls::ServerConfig::builder_with_provider(provider)
        .with_protocol_versions(&[&rustls::version::TLS13, &rustls::version::TLS12])
        .map_err(|e| format!("TLS configuration: {e}"))?
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .map_err(|e| format!("the TLS certificate and key do not fit together: {e}"))?;
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok(Arc::new(config))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_pki_loads_into_rustls() {
        let pki = generate_pki(&["localhost".into(), "127.0.0.1".into()]).unwrap();
        let dir = tempfile::tempdir().unwrap();
        let cert = dir.path().join("server.pem");
        let key = dir.path().join("server-key.pem");
        std::fs::write(&cert, &pki.server_cert_pem).unwrap();
        std::fs::write(&key, &pki.server_key_pem).unwrap();
        let (certs, key) = load_pem(&cert, &key).unwrap();
        server_config(certs, key).unwrap();
        assert!(pki.ca_cert_pem.starts_with("-----BEGIN CERTIFICATE-----"));
    }

    #[test]
    fn bad_files_get_clear_errors() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("x.pem");
        std::fs::write(&p, "not pem").unwrap();
        let e = load_pem(&p, &p).unwrap_err();
        assert!(e.contains("holds no certificate"), "{e}");
        let e = load_pem(&dir.path().join("missing.pem"), &p).unwrap_err();
        assert!(e.contains("cannot read"), "{e}");
    }
}
