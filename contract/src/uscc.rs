//! 统一社会信用代码 (unified social credit code), GB 32100-2015.
//!
//! Eighteen characters from a 31-character alphabet (digits and upper-case letters without
//! I, O, Z, S and V). The contract validates only the final check character: the weighted sum
//! of the first seventeen, modulo 31.

const ALPHABET: &[u8; 31] = b"0123456789ABCDEFGHJKLMNPQRTUWXY";
const WEIGHTS: [u32; 17] = [
    1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28,
];

fn value_of(c: u8) -> Option<u32> {
    ALPHABET.iter().position(|&a| a == c).map(|p| p as u32)
}

/// The check character for the first seventeen characters, or `None` when one of them is
/// outside the alphabet.
pub fn check_char(first17: &[u8]) -> Option<char> {
    if first17.len() != 17 {
        return None;
    }
    let mut sum = 0u32;
    for (c, w) in first17.iter().zip(WEIGHTS) {
        sum += value_of(c.to_ascii_uppercase())? * w;
    }
    let check = (31 - sum % 31) % 31;
    Some(ALPHABET[check as usize] as char)
}

/// Upper-cases and validates a code; `None` when its length, alphabet or check character is
/// wrong.
pub fn normalize(code: &str) -> Option<String> {
    let upper = code.trim().to_ascii_uppercase();
    let bytes = upper.as_bytes();
    if bytes.len() != 18 {
        return None;
    }
    let expected = check_char(&bytes[..17])?;
    (value_of(bytes[17]).is_some() && bytes[17] as char == expected).then_some(upper)
}

/// Builds a valid code from seventeen alphabet characters (used by the generator).
pub fn complete(first17: &str) -> Option<String> {
    let check = check_char(first17.as_bytes())?;
    Some(format!("{first17}{check}"))
}

/// The alphabet, for generators that must draw valid characters.
pub fn alphabet() -> &'static [u8; 31] {
    ALPHABET
}

#[cfg(test)]
mod tests {
    use super::*;

    // Codes printed on public business licences.
    const REAL: &[&str] = &[
        "914403001922038216", // 华为技术有限公司
        "9144030071526726XG", // 深圳市腾讯计算机系统有限公司
        "91440300708461136T", // a Shenzhen registration
        "91110000802100433B", // 中国石油化工股份有限公司
    ];

    #[test]
    fn real_codes_validate() {
        for code in REAL {
            assert_eq!(normalize(code).as_deref(), Some(*code), "{code}");
        }
    }

    #[test]
    fn lower_case_and_spaces_are_normalised() {
        assert_eq!(
            normalize(" 9144030071526726xg ").as_deref(),
            Some("9144030071526726XG")
        );
    }

    #[test]
    fn near_misses_fail() {
        // One digit changed, two digits swapped, wrong check char, short, long, banned letters.
        for bad in [
            "914403001922038226",
            "914403001292038216",
            "914403001922038217",
            "91440300192203821",
            "9144030019220382160",
            "9144030071526726IG",
            "91440300715267260Z",
            "",
        ] {
            assert_eq!(normalize(bad), None, "{bad}");
        }
    }

    #[test]
    fn complete_makes_valid_codes() {
        let code = complete("91440106MA5CXXXX1").unwrap();
        assert_eq!(normalize(&code), Some(code.clone()));
        assert_eq!(complete("91440106MA5CXXXXI"), None);
    }
}
