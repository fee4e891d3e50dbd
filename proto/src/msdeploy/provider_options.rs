//! The `MSDeploy.MSDeployProviderOptions` attribute value:
//! Base64(gzip(NRBF)).
//!
//! The gzip header is the one .NET writes (`1f8b 0800 0000 0000 0400`), and
//! the deflate stream is zlib's at level 9, which reproduces msdeploy's
//! modern (.NET 4.5+) blobs byte for byte. Decoding accepts any valid gzip,
//! including the old .NET 2.0-4.0 deflate style.

use super::nrbf::{NrbfError, ProviderOptions};
use base64::Engine as _;
use flate2::write::DeflateEncoder;
use flate2::{Compression, Crc};
use std::io::{Read, Write};

const GZIP_HEADER: [u8; 10] = [0x1f, 0x8b, 0x08, 0, 0, 0, 0, 0, 0x04, 0];
/// Decompressed blobs are a few hundred bytes; anything past this is not
/// a provider-options blob (and may be a gzip bomb).
const MAX_DECODED: u64 = 1024 * 1024;

#[derive(Debug, thiserror::Error)]
pub enum BlobError {
    #[error("not Base64")]
    Base64(#[from] base64::DecodeError),
    #[error("not valid gzip")]
    Gzip(#[source] std::io::Error),
    #[error("the decompressed options exceed {MAX_DECODED} bytes")]
    TooLarge,
    #[error("not a DeploymentProviderOptions serialization")]
    Nrbf(#[from] NrbfError),
}

/// The attribute value for `options`.
pub fn encode_blob(options: &ProviderOptions) -> String {
    let nrbf = options.encode();
    let mut encoder = DeflateEncoder::new(Vec::new(), Compression::best());
    // Writing to a Vec cannot fail.
    let _ = encoder.write_all(&nrbf);
    let deflated = encoder.finish().unwrap_or_default();
    let mut crc = Crc::new();
    crc.update(&nrbf);
    let mut gzip = Vec::with_capacity(deflated.len() + 18);
    gzip.extend_from_slice(&GZIP_HEADER);
    gzip.extend_from_slice(&deflated);
    gzip.extend_from_slice(&crc.sum().to_le_bytes());
    gzip.extend_from_slice(&(nrbf.len() as u32).to_le_bytes());
    base64::engine::general_purpose::STANDARD.encode(gzip)
}

/// The NRBF bytes inside an attribute value.
pub fn blob_nrbf(blob: &str) -> Result<Vec<u8>, BlobError> {
    let gzip = base64::engine::general_purpose::STANDARD.decode(blob.trim())?;
    let mut nrbf = Vec::new();
    flate2::read::GzDecoder::new(gzip.as_slice())
        .take(MAX_DECODED + 1)
        .read_to_end(&mut nrbf)
        .map_err(BlobError::Gzip)?;
    if nrbf.len() as u64 > MAX_DECODED {
        return Err(BlobError::TooLarge);
    }
    Ok(nrbf)
}

pub fn decode_blob(blob: &str) -> Result<ProviderOptions, BlobError> {
    Ok(ProviderOptions::decode(&blob_nrbf(blob)?)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Written by msdeploy for an iisApp provider (quoted in the Web Deploy
    /// packages issue).
    const REAL: &str = "H4sIAAAAAAAEAE2QTU/DMAyGO9gCE1x24N4fUEUd3QZCqgSMGwKqqYIDuaStx7KlSZSPTv31kEhj4MPrV5Htx3E0iKLo20fIIS5PvHy+sFpLI9cW76HCDSgu+xaETeJ30IZJkd/gKU5xmsRLx63TkAtwVlOexIWrOKufoS/lDkSeTat1djtf0CZbzCCbjwLp+g/w4QFPR8A/W2jZsQb0m7IeaIZhOXV4e6UtDBW1m5HwzqCOcgdmMEAorI9OgzBmHpRCoe9+eUf8uC3U1pBSunrD1j15dIw3BBpmpSay2pIVcKAGSEHrHf065rJV45GfMkZeJsGFL6AzL1ctFb6iWTlhWQuH40zQb825l2E3w+nFD2R2ZbJpAQAA";

    fn real_options() -> ProviderOptions {
        ProviderOptions {
            provider_name: "iisApp".into(),
            path: r"C:\Projects\Touchify\Build\editor\obj\Release\Package\PackageTmp".into(),
            settings: vec![("managedRuntimeVersion".into(), "v4.0".into())],
        }
    }

    #[test]
    fn real_msdeploy_blob_decodes() {
        assert_eq!(decode_blob(REAL).unwrap(), real_options());
    }

    #[test]
    fn encoding_gives_msdeploys_nrbf_bytes() {
        assert_eq!(blob_nrbf(&encode_blob(&real_options())).unwrap(), blob_nrbf(REAL).unwrap());
    }

    #[test]
    fn encoding_gives_msdeploys_whole_blob() {
        assert_eq!(encode_blob(&real_options()), REAL);
    }

    #[test]
    fn garbage_is_a_clear_error() {
        assert!(matches!(decode_blob("not base64!"), Err(BlobError::Base64(_))));
        assert!(matches!(decode_blob("aGVsbG8="), Err(BlobError::Gzip(_))));
    }
}
