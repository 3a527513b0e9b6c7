//! The password rules, each with a message in both languages.

use cpa_core::messages::{Lang, password_problem};
use cpa_core::password::{PasswordProblem, validate, validate_pair};

#[test]
fn rules_table() {
    let cases: &[(&str, Result<(), PasswordProblem>)] = &[
        ("correct-horse", Ok(())),
        ("12345678", Ok(())),
        ("with inner space", Ok(())),
        ("!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~", Ok(())),
        ("short", Err(PasswordProblem::TooShort { bytes: 5 })),
        ("1234567", Err(PasswordProblem::TooShort { bytes: 7 })),
        (&"x".repeat(72), Ok(())),
        (&"x".repeat(73), Err(PasswordProblem::TooLong { bytes: 73 })),
        (&"é".repeat(40), Err(PasswordProblem::TooLong { bytes: 80 })),
        ("pässwörd-long", Err(PasswordProblem::NotPrintableAscii)),
        ("密码123456789", Err(PasswordProblem::NotPrintableAscii)),
        ("tab\there-long", Err(PasswordProblem::NotPrintableAscii)),
        (" leading-space", Err(PasswordProblem::SurroundingSpace)),
        ("trailing-space ", Err(PasswordProblem::SurroundingSpace)),
        ("$2a$10$abcdefgh", Err(PasswordProblem::LooksLikeHash)),
        ("$2b$whatever-long", Err(PasswordProblem::LooksLikeHash)),
        ("$2y$whatever-long", Err(PasswordProblem::LooksLikeHash)),
        ("$2x$not-a-prefix", Ok(())),
    ];
    for (password, expected) in cases {
        assert_eq!(validate(password), *expected, "password {password:?}");
    }
}

#[test]
fn confirmation_must_match() {
    assert_eq!(validate_pair("correct-horse", "correct-horse"), Ok(()));
    assert_eq!(
        validate_pair("correct-horse", "correct-hors"),
        Err(PasswordProblem::Mismatch)
    );
    // The first entry's own problem is reported before a mismatch.
    assert_eq!(
        validate_pair("short", "other"),
        Err(PasswordProblem::TooShort { bytes: 5 })
    );
}

#[test]
fn every_rule_has_two_distinct_messages() {
    let problems = [
        PasswordProblem::TooShort { bytes: 3 },
        PasswordProblem::TooLong { bytes: 80 },
        PasswordProblem::NotPrintableAscii,
        PasswordProblem::SurroundingSpace,
        PasswordProblem::LooksLikeHash,
        PasswordProblem::Mismatch,
    ];
    let mut english_texts = Vec::new();
    for problem in problems {
        let english = password_problem(problem).text(Lang::En);
        let chinese = password_problem(problem).text(Lang::ZhCn);
        assert!(!english.is_empty(), "{problem:?}");
        assert!(!chinese.is_empty(), "{problem:?}");
        assert_ne!(english, chinese, "{problem:?} is not translated");
        assert!(
            !english_texts.contains(&english),
            "{problem:?} repeats a message"
        );
        english_texts.push(english);
    }
    assert!(
        password_problem(PasswordProblem::TooLong { bytes: 80 })
            .text(Lang::En)
            .contains("80")
    );
}
