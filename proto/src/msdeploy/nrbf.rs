//! The MS-NRBF (.NET BinaryFormatter) form of
//! `Microsoft.Web.Deployment.DeploymentProviderOptions`, the object behind
//! a manifest's `MSDeploy.MSDeployProviderOptions` attribute.
//!
//! Written exactly as msdeploy.exe writes it (record for record, see
//! `webdeploy-webpi-facts.md` section 6.2): header, BinaryLibrary,
//! ClassWithMembersAndTypes {providerName, path, names, values} with the
//! two strings inline and the two string arrays referenced then written,
//! MessageEnd. The decoder accepts the same shape plus what MS-NRBF allows
//! there and msdeploy never wrote: null strings, runs of nulls in the
//! arrays and references to earlier strings.

/// The library name every real blob carries, lower-case `web.deployment`
/// included.
pub const LIBRARY: &str = "Microsoft.web.deployment, Version=7.1.0.0, Culture=neutral, PublicKeyToken=31bf3856ad364e35";
pub const CLASS: &str = "Microsoft.Web.Deployment.DeploymentProviderOptions";
const MEMBERS: [&str; 4] = ["providerName", "path", "names", "values"];

const HEADER: u8 = 0x00;
const CLASS_WITH_MEMBERS_AND_TYPES: u8 = 0x05;
const BINARY_OBJECT_STRING: u8 = 0x06;
const MEMBER_REFERENCE: u8 = 0x09;
const OBJECT_NULL: u8 = 0x0a;
const MESSAGE_END: u8 = 0x0b;
const BINARY_LIBRARY: u8 = 0x0c;
const OBJECT_NULL_MULTIPLE_256: u8 = 0x0d;
const OBJECT_NULL_MULTIPLE: u8 = 0x0e;
const ARRAY_SINGLE_STRING: u8 = 0x11;
/// BinaryTypeEnum String, String, StringArray, StringArray.
const MEMBER_TYPES: [u8; 4] = [1, 1, 6, 6];
/// Most settings an options object may have. Real ones have one or two; a
/// run of nulls could otherwise claim two billion items in five bytes.
const MAX_ARRAY_LEN: usize = 65_536;

/// A provider and its settings, as msdeploy passes them around.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProviderOptions {
    pub provider_name: String,
    pub path: String,
    /// (name, value) in order.
    pub settings: Vec<(String, String)>,
}

/// Why bytes are not a DeploymentProviderOptions serialization, with the
/// byte offset where that became clear.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("offset {offset}: {message}")]
pub struct NrbfError {
    pub offset: usize,
    pub message: String,
}

impl ProviderOptions {
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(256);
        out.push(HEADER);
        for value in [1i32, -1, 1, 0] {
            out.extend_from_slice(&value.to_le_bytes());
        }
        out.push(BINARY_LIBRARY);
        out.extend_from_slice(&2i32.to_le_bytes());
        write_string(LIBRARY, &mut out);
        out.push(CLASS_WITH_MEMBERS_AND_TYPES);
        out.extend_from_slice(&1i32.to_le_bytes());
        write_string(CLASS, &mut out);
        out.extend_from_slice(&(MEMBERS.len() as i32).to_le_bytes());
        for member in MEMBERS {
            write_string(member, &mut out);
        }
        out.extend_from_slice(&MEMBER_TYPES);
        out.extend_from_slice(&2i32.to_le_bytes());
        object_string(3, &self.provider_name, &mut out);
        object_string(4, &self.path, &mut out);
        for id in [5i32, 6] {
            out.push(MEMBER_REFERENCE);
            out.extend_from_slice(&id.to_le_bytes());
        }
        let mut next_id = 7;
        for (array_id, pick) in [(5i32, 0usize), (6, 1)] {
            out.push(ARRAY_SINGLE_STRING);
            out.extend_from_slice(&array_id.to_le_bytes());
            out.extend_from_slice(&(self.settings.len() as i32).to_le_bytes());
            for setting in &self.settings {
                object_string(next_id, if pick == 0 { &setting.0 } else { &setting.1 }, &mut out);
                next_id += 1;
            }
        }
        out.push(MESSAGE_END);
        out
    }

    pub fn decode(bytes: &[u8]) -> Result<Self, NrbfError> {
        Reader { bytes, at: 0, strings: Vec::new() }.read_options()
    }
}

fn write_string(text: &str, out: &mut Vec<u8>) {
    let mut len = text.len();
    loop {
        let byte = (len & 0x7f) as u8;
        len >>= 7;
        if len == 0 {
            out.push(byte);
            break;
        }
        out.push(byte | 0x80);
    }
    out.extend_from_slice(text.as_bytes());
}

fn object_string(id: i32, text: &str, out: &mut Vec<u8>) {
    out.push(BINARY_OBJECT_STRING);
    out.extend_from_slice(&id.to_le_bytes());
    write_string(text, out);
}

/// A string-valued slot: a string, null, or a reference to be resolved.
enum Slot {
    Value(Option<String>),
    Reference(i32),
}

struct Reader<'a> {
    bytes: &'a [u8],
    at: usize,
    /// Strings seen so far, by object id, for MemberReference.
    strings: Vec<(i32, String)>,
}

impl Reader<'_> {
    fn fail<T>(&self, message: impl Into<String>) -> Result<T, NrbfError> {
        Err(NrbfError { offset: self.at, message: message.into() })
    }

    fn byte(&mut self) -> Result<u8, NrbfError> {
        let Some(&byte) = self.bytes.get(self.at) else { return self.fail("unexpected end of data") };
        self.at += 1;
        Ok(byte)
    }

    fn i32(&mut self) -> Result<i32, NrbfError> {
        let Some(chunk) = self.bytes.get(self.at..self.at + 4) else { return self.fail("unexpected end of data") };
        self.at += 4;
        Ok(i32::from_le_bytes([chunk[0], chunk[1], chunk[2], chunk[3]]))
    }

    fn expect(&mut self, wanted: u8, what: &str) -> Result<(), NrbfError> {
        let start = self.at;
        let got = self.byte()?;
        if got != wanted {
            self.at = start;
            return self.fail(format!("expected {what} (record type {wanted:#04x}), found {got:#04x}"));
        }
        Ok(())
    }

    fn string(&mut self) -> Result<String, NrbfError> {
        let start = self.at;
        let mut len: usize = 0;
        for shift in 0..5 {
            let byte = self.byte()?;
            if shift == 4 && byte & 0xf8 != 0 {
                self.at = start;
                return self.fail("string length does not fit in 31 bits");
            }
            len |= usize::from(byte & 0x7f) << (7 * shift);
            if byte & 0x80 == 0 {
                break;
            }
        }
        let Some(text) = self.bytes.get(self.at..self.at.saturating_add(len)) else {
            return self.fail(format!("string of {len} bytes runs past the end"));
        };
        let Ok(text) = std::str::from_utf8(text) else { return self.fail("string is not UTF-8") };
        self.at += len;
        Ok(text.to_string())
    }

    fn read_options(mut self) -> Result<ProviderOptions, NrbfError> {
        self.expect(HEADER, "SerializationHeaderRecord")?;
        let (_root, _header, major, minor) = (self.i32()?, self.i32()?, self.i32()?, self.i32()?);
        if (major, minor) != (1, 0) {
            return self.fail(format!("format version {major}.{minor} is not 1.0"));
        }
        self.expect(BINARY_LIBRARY, "BinaryLibrary")?;
        let library_id = self.i32()?;
        let _library = self.string()?;
        self.expect(CLASS_WITH_MEMBERS_AND_TYPES, "ClassWithMembersAndTypes")?;
        let _object_id = self.i32()?;
        let class = self.string()?;
        if class != CLASS {
            return self.fail(format!("class `{class}` is not {CLASS}"));
        }
        let count = self.i32()?;
        if count != MEMBERS.len() as i32 {
            return self.fail(format!("{count} members, expected {}", MEMBERS.len()));
        }
        let mut names = Vec::new();
        for _ in 0..count {
            names.push(self.string()?);
        }
        if names != MEMBERS {
            return self.fail(format!("members {names:?}, expected {MEMBERS:?}"));
        }
        let mut types = [0u8; 4];
        for slot in &mut types {
            *slot = self.byte()?;
        }
        if types != MEMBER_TYPES {
            return self.fail(format!("member types {types:?}, expected {MEMBER_TYPES:?}"));
        }
        if self.i32()? != library_id {
            return self.fail("the class names a library that was not declared");
        }
        let provider = self.slot()?;
        let path = self.slot()?;
        let names_ref = self.array_reference()?;
        let values_ref = self.array_reference()?;
        let mut arrays: Vec<(i32, Vec<Option<String>>)> = Vec::new();
        while arrays.len() < 2 {
            self.expect(ARRAY_SINGLE_STRING, "ArraySingleString")?;
            let id = self.i32()?;
            let length = self.i32()?;
            if length < 0 || length as usize > MAX_ARRAY_LEN {
                return self.fail(format!("array length {length} is not between 0 and {MAX_ARRAY_LEN}"));
            }
            arrays.push((id, self.array_items(length as usize)?));
        }
        self.expect(MESSAGE_END, "MessageEnd")?;
        if self.at != self.bytes.len() {
            return self.fail("data after MessageEnd");
        }
        let take = |id: i32, this: &Self| -> Result<Vec<Option<String>>, NrbfError> {
            arrays
                .iter()
                .find(|(i, _)| *i == id)
                .map(|(_, items)| items.clone())
                .map_or_else(|| this.fail(format!("array {id} is referenced but never written")), Ok)
        };
        let (names, values) = (take(names_ref, &self)?, take(values_ref, &self)?);
        if names.len() != values.len() {
            return self.fail(format!("{} names but {} values", names.len(), values.len()));
        }
        Ok(ProviderOptions {
            provider_name: self.resolve(provider)?.unwrap_or_default(),
            path: self.resolve(path)?.unwrap_or_default(),
            settings: names
                .into_iter()
                .zip(values)
                .map(|(n, v)| (n.unwrap_or_default(), v.unwrap_or_default()))
                .collect(),
        })
    }

    fn slot(&mut self) -> Result<Slot, NrbfError> {
        match self.byte()? {
            BINARY_OBJECT_STRING => {
                let id = self.i32()?;
                let text = self.string()?;
                self.strings.push((id, text.clone()));
                Ok(Slot::Value(Some(text)))
            }
            OBJECT_NULL => Ok(Slot::Value(None)),
            MEMBER_REFERENCE => Ok(Slot::Reference(self.i32()?)),
            other => {
                self.at -= 1;
                self.fail(format!("expected a string, null or reference, found record type {other:#04x}"))
            }
        }
    }

    fn resolve(&self, slot: Slot) -> Result<Option<String>, NrbfError> {
        match slot {
            Slot::Value(value) => Ok(value),
            Slot::Reference(id) => match self.strings.iter().find(|(i, _)| *i == id) {
                Some((_, text)) => Ok(Some(text.clone())),
                None => self.fail(format!("reference to unknown string {id}")),
            },
        }
    }

    fn array_reference(&mut self) -> Result<i32, NrbfError> {
        self.expect(MEMBER_REFERENCE, "MemberReference")?;
        self.i32()
    }

    fn array_items(&mut self, length: usize) -> Result<Vec<Option<String>>, NrbfError> {
        let mut items = Vec::with_capacity(length.min(1024));
        while items.len() < length {
            let nulls = match self.byte()? {
                OBJECT_NULL_MULTIPLE_256 => usize::from(self.byte()?),
                OBJECT_NULL_MULTIPLE => usize::try_from(self.i32()?).unwrap_or(0),
                _ => {
                    self.at -= 1;
                    let slot = self.slot()?;
                    items.push(self.resolve(slot)?);
                    continue;
                }
            };
            if nulls == 0 || items.len() + nulls > length {
                return self.fail("null run does not fit the array");
            }
            items.extend(std::iter::repeat_n(None, nulls));
        }
        Ok(items)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> ProviderOptions {
        ProviderOptions {
            provider_name: "runCommand".into(),
            path: r"%SystemDrive%\Python27\python.exe -u iiswsgi_install.py".into(),
            settings: vec![("waitAttempts".into(), "10".into()), ("successReturnCodes".into(), "0x0".into())],
        }
    }

    #[test]
    fn round_trips() {
        assert_eq!(ProviderOptions::decode(&sample().encode()).unwrap(), sample());
        let empty = ProviderOptions { provider_name: "contentPath".into(), path: String::new(), settings: vec![] };
        assert_eq!(ProviderOptions::decode(&empty.encode()).unwrap(), empty);
    }

    #[test]
    fn layout_matches_msdeploy() {
        let bytes = sample().encode();
        assert_eq!(&bytes[..17], &[0, 1, 0, 0, 0, 0xff, 0xff, 0xff, 0xff, 1, 0, 0, 0, 0, 0, 0, 0]);
        assert_eq!(bytes[17], BINARY_LIBRARY);
        assert_eq!(bytes[22], 91, "library name length");
        assert_eq!(bytes[0x72], CLASS_WITH_MEMBERS_AND_TYPES, "the class record sits where msdeploy puts it");
        assert_eq!(*bytes.last().unwrap(), MESSAGE_END);
    }

    #[test]
    fn long_strings_use_multi_byte_lengths() {
        let mut out = Vec::new();
        write_string(&"x".repeat(200), &mut out);
        assert_eq!(&out[..2], &[0xc8, 0x01]);
        let mut out = Vec::new();
        write_string(&"x".repeat(16384), &mut out);
        assert_eq!(&out[..3], &[0x80, 0x80, 0x01]);
    }

    #[test]
    fn nulls_and_references_decode() {
        let mut bytes = ProviderOptions { provider_name: "p".into(), path: "x".into(), settings: vec![] }.encode();
        // Replace the two empty arrays with arrays holding a null run and a reference.
        let arrays_at = bytes.len() - 1 - 2 * 9;
        bytes.truncate(arrays_at);
        bytes.extend_from_slice(&[
            ARRAY_SINGLE_STRING,
            5,
            0,
            0,
            0,
            2,
            0,
            0,
            0,
            OBJECT_NULL_MULTIPLE_256,
            1,
            MEMBER_REFERENCE,
            3,
            0,
            0,
            0,
        ]);
        bytes.extend_from_slice(&[ARRAY_SINGLE_STRING, 6, 0, 0, 0, 2, 0, 0, 0, OBJECT_NULL, OBJECT_NULL, MESSAGE_END]);
        let decoded = ProviderOptions::decode(&bytes).unwrap();
        assert_eq!(decoded.settings, [(String::new(), String::new()), ("p".to_string(), String::new())]);
    }

    #[test]
    fn a_huge_null_run_is_refused_not_allocated() {
        // Found by fuzzing (nrbf): an array of 2^31-1 items made of one
        // ObjectNullMultiple record ran out of memory.
        let mut bytes = ProviderOptions { provider_name: "p".into(), path: "x".into(), settings: vec![] }.encode();
        let arrays_at = bytes.len() - 1 - 2 * 9;
        bytes.truncate(arrays_at);
        bytes.extend_from_slice(&[
            ARRAY_SINGLE_STRING,
            5,
            0,
            0,
            0,
            0xff,
            0xff,
            0xff,
            0x7f,
            OBJECT_NULL_MULTIPLE,
            0xff,
            0xff,
            0xff,
            0x7f,
        ]);
        bytes.extend_from_slice(&[ARRAY_SINGLE_STRING, 6, 0, 0, 0, 0, 0, 0, 0, MESSAGE_END]);
        let err = ProviderOptions::decode(&bytes).unwrap_err();
        assert!(err.message.contains("array length"), "{err}");
    }

    #[test]
    fn malformed_input_is_an_error_with_an_offset() {
        let bytes = sample().encode();
        for cut in 0..bytes.len() {
            assert!(ProviderOptions::decode(&bytes[..cut]).is_err(), "cut at {cut}");
        }
        let mut wrong = bytes.clone();
        wrong[0x72] = 0x04;
        let err = ProviderOptions::decode(&wrong).unwrap_err();
        assert_eq!(err.offset, 0x72, "{err}");
    }
}
