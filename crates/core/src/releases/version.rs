//! Release tags as semantic versions.
//!
//! CLIProxyAPI tags look like `v8.0.10`. A tag becomes the name of a folder
//! under `versions/`, so it is validated against a narrow pattern before any
//! path is built from it: `v?MAJOR.MINOR.PATCH`, optionally followed by `-PRE`
//! and/or `+BUILD` made of ASCII letters, digits, `.` and `-`. The pattern
//! excludes path separators, `..`, spaces and anything else a file system
//! treats specially.
//!
//! Ordering follows Semantic Versioning 2.0.0 precedence: numeric fields
//! compare as numbers (`v8.0.10` > `v8.0.9`, `v6.10.0` > `v6.9.9`), a
//! pre-release sorts below its release, and build metadata is ignored.

use std::cmp::Ordering;
use std::fmt;

use super::ReleaseError;

/// Maximum tag length, in bytes. Real tags are about 8 bytes long, and the
/// limit keeps folder names far below every file system's name limit.
const MAX_TAG_LEN: usize = 64;

/// A parsed semantic version, compared by SemVer precedence.
#[derive(Debug, Clone, Eq)]
pub struct Version {
    pub major: u64,
    pub minor: u64,
    pub patch: u64,
    /// Dot-separated pre-release identifiers; empty for a release.
    pub pre: Vec<String>,
    /// Build metadata after `+`; ignored by comparisons.
    pub build: Option<String>,
}

impl Version {
    /// Parses a tag such as `v8.0.10`, `8.0.10` or `v8.1.0-rc.1`.
    ///
    /// Also validates the tag as a folder name (see the module docs), so a
    /// successfully parsed tag is always safe to join to a path.
    pub fn parse(tag: &str) -> Result<Version, ReleaseError> {
        let invalid = |reason: &str| ReleaseError::InvalidTag {
            tag: tag.to_string(),
            reason: reason.to_string(),
        };

        if tag.is_empty() {
            return Err(invalid("the tag is empty"));
        }
        if tag.len() > MAX_TAG_LEN {
            return Err(invalid("the tag is longer than 64 bytes"));
        }
        if let Some(bad) = tag
            .chars()
            .find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '+')))
        {
            return Err(invalid(&format!(
                "the character {bad:?} is not allowed (only ASCII letters, digits, '.', '-' and '+')"
            )));
        }
        if tag.contains("..") {
            return Err(invalid("the tag contains '..'"));
        }

        let body = tag.strip_prefix('v').unwrap_or(tag);
        let (rest, build) = match body.split_once('+') {
            Some((rest, build)) => (rest, Some(build)),
            None => (body, None),
        };
        let (core, pre) = match rest.split_once('-') {
            Some((core, pre)) => (core, Some(pre)),
            None => (rest, None),
        };

        let mut numbers = core.split('.');
        let mut next_number = |field: &str| -> Result<u64, ReleaseError> {
            let text = numbers
                .next()
                .ok_or_else(|| invalid(&format!("the {field} number is missing")))?;
            if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
                return Err(invalid(&format!(
                    "the {field} number {text:?} is not a number"
                )));
            }
            text.parse::<u64>()
                .map_err(|_| invalid(&format!("the {field} number {text:?} is too large")))
        };
        let major = next_number("major")?;
        let minor = next_number("minor")?;
        let patch = next_number("patch")?;
        if numbers.next().is_some() {
            return Err(invalid(
                "expected MAJOR.MINOR.PATCH with exactly three numbers",
            ));
        }

        let pre = match pre {
            None => Vec::new(),
            Some(pre) => {
                let identifiers: Vec<String> = pre.split('.').map(str::to_string).collect();
                if identifiers.iter().any(String::is_empty) {
                    return Err(invalid("the pre-release part has an empty identifier"));
                }
                identifiers
            }
        };
        let build = match build {
            None => None,
            Some(build) if build.is_empty() || build.contains('+') => {
                return Err(invalid("the build metadata after '+' is malformed"));
            }
            Some(build) => Some(build.to_string()),
        };

        Ok(Version {
            major,
            minor,
            patch,
            pre,
            build,
        })
    }

    /// Returns true for a release without pre-release identifiers.
    pub fn is_release(&self) -> bool {
        self.pre.is_empty()
    }
}

impl fmt::Display for Version {
    /// Formats without the leading `v`, as release asset names use it.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}.{}", self.major, self.minor, self.patch)?;
        if !self.pre.is_empty() {
            write!(f, "-{}", self.pre.join("."))?;
        }
        if let Some(build) = &self.build {
            write!(f, "+{build}")?;
        }
        Ok(())
    }
}

impl PartialEq for Version {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}

impl PartialOrd for Version {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Version {
    fn cmp(&self, other: &Self) -> Ordering {
        (self.major, self.minor, self.patch)
            .cmp(&(other.major, other.minor, other.patch))
            .then_with(|| compare_pre(&self.pre, &other.pre))
    }
}

/// Compares pre-release identifier lists by SemVer 2.0.0 rule 11.
fn compare_pre(left: &[String], right: &[String]) -> Ordering {
    match (left.is_empty(), right.is_empty()) {
        (true, true) => return Ordering::Equal,
        // A release ranks above any of its pre-releases.
        (true, false) => return Ordering::Greater,
        (false, true) => return Ordering::Less,
        (false, false) => {}
    }
    for (a, b) in left.iter().zip(right) {
        let order = match (numeric(a), numeric(b)) {
            (Some(x), Some(y)) => x.cmp(&y),
            (Some(_), None) => Ordering::Less,
            (None, Some(_)) => Ordering::Greater,
            (None, None) => a.cmp(b),
        };
        if order != Ordering::Equal {
            return order;
        }
    }
    left.len().cmp(&right.len())
}

fn numeric(identifier: &str) -> Option<u64> {
    if identifier.bytes().all(|b| b.is_ascii_digit()) {
        identifier.parse().ok()
    } else {
        None
    }
}

/// Checks that `tag` is a valid release tag and therefore a safe folder name.
pub fn validate_tag(tag: &str) -> Result<(), ReleaseError> {
    Version::parse(tag).map(|_| ())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(tag: &str) -> Version {
        Version::parse(tag).unwrap_or_else(|err| panic!("{tag}: {err}"))
    }

    #[test]
    fn numeric_fields_compare_as_numbers() {
        assert!(v("v8.0.10") > v("v8.0.9"));
        assert!(v("v6.10.0") > v("v6.9.9"));
        assert!(v("v10.0.0") > v("v9.99.99"));
        assert!(v("v6.7.35") > v("v6.7.30"));
    }

    #[test]
    fn leading_v_is_optional() {
        assert_eq!(v("v8.0.10"), v("8.0.10"));
        assert_eq!(v("8.0.10").to_string(), "8.0.10");
        assert_eq!(v("v8.0.10").to_string(), "8.0.10");
    }

    #[test]
    fn prerelease_sorts_below_release() {
        assert!(v("v8.1.0-rc.1") < v("v8.1.0"));
        assert!(v("v8.1.0-rc.1") > v("v8.0.99"));
        assert!(v("v1.0.0-alpha") < v("v1.0.0-alpha.1"));
        assert!(v("v1.0.0-alpha.1") < v("v1.0.0-alpha.beta"));
        assert!(v("v1.0.0-beta.2") < v("v1.0.0-beta.11"));
        assert!(v("v1.0.0-rc.1") < v("v1.0.0"));
        assert!(!v("v1.0.0-rc.1").is_release());
    }

    #[test]
    fn build_metadata_is_ignored() {
        assert_eq!(v("v1.2.3+abc"), v("v1.2.3"));
        assert_eq!(v("v1.2.3+abc").to_string(), "1.2.3+abc");
    }

    #[test]
    fn unsafe_tags_are_rejected() {
        for tag in [
            "",
            "../v1.2.3",
            "v1.2.3/..",
            "v1.2.3/x",
            "v1.2.3\\x",
            "..",
            "v1..2.3",
            "v1.2.3-..",
            "v 1.2.3",
            "C:v1.2.3",
            "v1.2",
            "v1.2.3.4",
            "vv1.2.3",
            "latest",
            "v1.2.3-",
            "v1.2.3+",
            "v1.2.x",
            "v1.2.3-ü",
        ] {
            assert!(validate_tag(tag).is_err(), "{tag:?} must be rejected");
        }
        let long = format!("v1.2.3-{}", "a".repeat(80));
        assert!(validate_tag(&long).is_err());
    }

    #[test]
    fn sorting_a_list_uses_semver() {
        let mut tags = vec!["v6.9.9", "v6.10.0", "v6.9.10", "v6.10.0-rc.1", "v6.1.0"];
        tags.sort_by_key(|tag| v(tag));
        assert_eq!(
            tags,
            vec!["v6.1.0", "v6.9.9", "v6.9.10", "v6.10.0-rc.1", "v6.10.0"]
        );
    }
}
