//! The per-tenant validation rules from the vendor documents, each a switch in
//! [`ValidationRules`]:
//! - `userName` must be a syntactically valid email address (Code42: "Username should be a
//!   syntactically valid email address value"; Invicti identifies users by email);
//! - the primary email must equal `userName` ("Primary email should be a syntactically valid
//!   value identical to Username");
//! - every `addresses[].country` must be an ISO 3166-1 alpha-2 code ("Country codes mapped
//!   must be valid 2-character codes").
//!
//! The rules run on the prepared document (canonical attribute names, see
//! [`crate::resource::prepare`]) and fail with `invalidValue` whose detail names the attribute,
//! the value and the rule, so the provider's administrator knows what to fix.

use serde_json::Value;

use super::countries::is_iso3166_alpha2;
use super::settings::ValidationRules;
use crate::error::{Error, Result};
use crate::filter::eval::fold_case;

/// Longest address accepted: RFC 5321's 256-octet path minus the angle brackets.
const MAX_EMAIL: usize = 254;
/// Longest local part (RFC 5321 §4.5.3.1.1).
const MAX_LOCAL: usize = 64;
/// Longest domain (RFC 1035 name length without the trailing dot).
const MAX_DOMAIN: usize = 253;
/// Longest domain label (RFC 1035).
const MAX_LABEL: usize = 63;

/// Whether `s` is a syntactically valid email address, by an RFC 5322 "lite" grammar: the
/// `dot-atom "@" dot-atom` form every mail system and identity provider uses.
///
/// Accepted: a local part of 1–64 octets made of atoms of `A-Z a-z 0-9` and
/// ``! # $ % & ' * + - / = ? ^ _ ` { | } ~`` joined by single dots (no leading, trailing or
/// doubled dot); one `@`; a domain of 1–253 octets made of one or more labels of 1–63 letters,
/// digits and hyphens, not starting or ending with a hyphen, joined by single dots; the last
/// label not all digits (so `a@192.168.0.1` is refused). A dot-free domain (`root@localhost`)
/// is accepted. Non-ASCII letters and digits are accepted in both parts (RFC 6531
/// internationalized addresses, U-label domains). At most 254 octets in all.
///
/// Refused: quoted local parts (`"a b"@x`), comments, domain literals (`a@[10.0.0.1]`),
/// whitespace or control characters anywhere, a trailing dot on the domain, and the obsolete
/// RFC 5322 forms.
pub fn is_valid_email(s: &str) -> bool {
    if s.len() > MAX_EMAIL {
        return false;
    }
    let Some((local, domain)) = s.split_once('@') else {
        return false;
    };
    valid_local(local) && valid_domain(domain)
}

fn valid_local(local: &str) -> bool {
    (1..=MAX_LOCAL).contains(&local.len())
        && local
            .split('.')
            .all(|atom| !atom.is_empty() && atom.chars().all(is_atext))
}

/// RFC 5322 `atext`, plus non-ASCII letters and digits (RFC 6531).
fn is_atext(c: char) -> bool {
    c.is_ascii_alphanumeric()
        || "!#$%&'*+-/=?^_`{|}~".contains(c)
        || (!c.is_ascii() && c.is_alphanumeric())
}

fn valid_domain(domain: &str) -> bool {
    if !(1..=MAX_DOMAIN).contains(&domain.len()) {
        return false;
    }
    let labels: Vec<&str> = domain.split('.').collect();
    let well_formed = labels.iter().all(|label| {
        (1..=MAX_LABEL).contains(&label.len())
            && !label.starts_with('-')
            && !label.ends_with('-')
            && label.chars().all(|c| {
                c.is_ascii_alphanumeric() || c == '-' || (!c.is_ascii() && c.is_alphanumeric())
            })
    });
    let top_is_numeric = labels
        .last()
        .is_some_and(|l| l.chars().all(|c| c.is_ascii_digit()));
    well_formed && !top_is_numeric
}

/// Checks a prepared User document against the tenant's rules; the first violation (in the
/// order userName, emails, addresses) is the error.
pub fn validate_user(rules: &ValidationRules, doc: &Value) -> Result<()> {
    let user_name = crate::resource::user_name(doc);
    if rules.user_name_is_email {
        match user_name {
            Some(u) if is_valid_email(u) => {}
            Some(u) => {
                return Err(Error::invalid_value(format!(
                    "userName {u:?} is not a valid email address; this tenant requires userName \
                     to be an email address such as \"ann@example.com\""
                )));
            }
            None => {
                return Err(Error::invalid_value(
                    "userName is missing; this tenant requires userName to be an email address",
                ));
            }
        }
    }
    if rules.primary_email_is_user_name
        && let Some(u) = user_name
    {
        check_primary_email(u, doc)?;
    }
    if rules.country_is_iso3166 {
        check_countries(doc)?;
    }
    Ok(())
}

/// The primary email is the element marked `primary`, or the first one when none is. It must
/// equal `userName` ignoring case, as userName itself is compared (caseExact false).
fn check_primary_email(user_name: &str, doc: &Value) -> Result<()> {
    let emails = doc
        .get("emails")
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or_default();
    let primary = emails
        .iter()
        .find(|e| e.get("primary") == Some(&Value::Bool(true)))
        .or_else(|| emails.first());
    let Some(email) = primary else {
        return Err(Error::invalid_value(format!(
            "emails is missing; this tenant requires a primary email equal to userName \
             {user_name:?}"
        )));
    };
    let value = email
        .get("value")
        .and_then(Value::as_str)
        .unwrap_or_default();
    if fold_case(value) != fold_case(user_name) {
        return Err(Error::invalid_value(format!(
            "the primary email {value:?} (emails[primary eq true].value) must equal userName \
             {user_name:?}; this tenant requires them to be identical (case aside)"
        )));
    }
    Ok(())
}

fn check_countries(doc: &Value) -> Result<()> {
    let addresses = doc
        .get("addresses")
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or_default();
    for (i, address) in addresses.iter().enumerate() {
        match address.get("country") {
            None | Some(Value::Null) => {}
            Some(Value::String(c)) if c.is_empty() || is_iso3166_alpha2(c) => {}
            Some(other) => {
                return Err(Error::invalid_value(format!(
                    "addresses[{i}].country {other} is not an ISO 3166-1 alpha-2 country code; \
                     this tenant requires two-letter codes such as \"US\" or \"DE\""
                )));
            }
        }
    }
    Ok(())
}
