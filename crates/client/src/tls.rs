//! The one TLS setup of every HTTP client kvsync builds: rustls with the `ring` provider.
//!
//! reqwest is built without a crypto provider of its own (`rustls-no-provider`), which keeps
//! a second, C-heavy provider out of the build; it then takes the process's default provider,
//! and panics in `build()` when there is none. [`http_client`] installs `ring` as that default
//! first, so building through it is always safe.

use std::sync::Once;

/// Makes `ring` the process's rustls provider, once; a provider installed before is kept.
pub fn install_crypto_provider() {
    static INSTALL: Once = Once::new();
    INSTALL.call_once(|| {
        // `Err` means a provider is already installed, which is all that is needed.
        let _ = rustls::crypto::ring::default_provider().install_default();
    });
}

/// A reqwest client builder whose `build()` finds a crypto provider.
pub fn http_client() -> reqwest::ClientBuilder {
    install_crypto_provider();
    reqwest::Client::builder()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clients_build_and_the_provider_is_ring() {
        assert!(http_client().build().is_ok());
        assert!(
            http_client().build().is_ok(),
            "installing twice is harmless"
        );
        let provider = rustls::crypto::CryptoProvider::get_default().expect("a default provider");
        let ring = rustls::crypto::ring::default_provider();
        assert_eq!(
            provider.cipher_suites.len(),
            ring.cipher_suites.len(),
            "the installed provider is ring's"
        );
    }
}
