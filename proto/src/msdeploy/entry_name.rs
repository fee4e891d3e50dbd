//! Package entry names, checked the same way when a package is written
//! and when one is unpacked.

/// Whether a zip entry name stays inside the folder it is unpacked into:
/// relative, `/`-separated, no `..` or `.` segments, no empty segments, no
/// drive letters or backslashes. A trailing `/` (a folder entry) is fine.
pub fn is_safe_entry_name(name: &str) -> bool {
    let trimmed = name.strip_suffix('/').unwrap_or(name);
    !(trimmed.is_empty()
        || name.starts_with('/')
        || name.contains('\\')
        || name.contains(':')
        || trimmed.split('/').any(|part| part.is_empty() || part == ".." || part == "."))
}

#[cfg(test)]
mod tests {
    use super::is_safe_entry_name;

    #[test]
    fn names_that_could_escape_are_unsafe() {
        for name in ["../x", "/etc/passwd", "a/../../b", "a\\b", "C:/x", "a//b", "", "./a", "a/./b", "/"] {
            assert!(!is_safe_entry_name(name), "{name}");
        }
        for name in ["Sample/app/__init__.py", "Sample/", "Manifest.xml"] {
            assert!(is_safe_entry_name(name), "{name}");
        }
    }
}
