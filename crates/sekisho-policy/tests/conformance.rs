//! The public IAM conformance cases in `../shared/conformance/iam/`.
//!
//! The data stays outside the repository (its licence is AGPL); when the
//! folder is absent, as in a user's fresh clone, the tests say so and pass
//! without checking anything.

use std::path::PathBuf;

use sekisho_policy::cases::{CaseResult, read_case_file, run_all};

fn conformance_file(name: &str) -> Option<PathBuf> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/conformance/iam");
    let path = dir.join(name);
    if path.is_file() {
        Some(path)
    } else {
        eprintln!(
            "SKIPPED: {} is absent (the conformance data lives in ../shared beside the repository)",
            path.display()
        );
        None
    }
}

fn run(name: &str, expected_count: usize) -> Vec<CaseResult> {
    let Some(path) = conformance_file(name) else {
        return Vec::new();
    };
    let text = std::fs::read_to_string(&path).expect("readable case file");
    let file = read_case_file(&text).expect("a valid case file");
    let results = run_all(&file);
    assert_eq!(results.len(), expected_count, "case count of {name}");
    results
}

fn check(results: &[CaseResult]) {
    let failures: Vec<&CaseResult> = results
        .iter()
        .filter(|r| !r.passed && !r.disputed)
        .collect();
    for r in results.iter().filter(|r| r.disputed) {
        eprintln!(
            "DISPUTED (not counted): {} — expected {}, got {}: {}",
            r.name, r.expected, r.actual, r.explanation
        );
    }
    for f in &failures {
        eprintln!(
            "FAIL {} [{}]: expected {} {:?}, got {} {:?}: {}",
            f.id, f.name, f.expected, f.expected_blocked_by, f.actual, f.blocked_by, f.explanation
        );
    }
    let counted = results.iter().filter(|r| !r.disputed).count();
    eprintln!(
        "{} passed, {} failed",
        counted - failures.len(),
        failures.len()
    );
    assert!(
        failures.is_empty(),
        "{} conformance cases failed",
        failures.len()
    );
}

#[test]
fn decision_cases_pass() {
    check(&run("cases.json", 328));
}

#[test]
fn operator_cases_pass() {
    check(&run("operator_cases.json", 162));
}
