//! The Rust features and scores agree with the training script's (fixtures
//! exported by `scripts/train-guard-classifiers.py`).

use sekisho_classify::{TOPIC_THRESHOLD, prompt_attack_model, topic_model};
use serde_json::Value;

fn lines(name: &str) -> Vec<Value> {
    let path = format!("{}/tests/fixtures/{name}", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(&path).expect("fixture");
    text.lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str(l).expect("json"))
        .collect()
}

#[test]
fn prompt_attack_scores_match_python() {
    let model = prompt_attack_model().expect("embedded model parses");
    let rows = lines("prompt_attack_agreement.jsonl");
    assert!(rows.len() > 250, "fixture too small: {}", rows.len());
    let mut worst = 0.0f64;
    for r in &rows {
        let text = r["text"].as_str().expect("text");
        let want = r["score"].as_f64().expect("score");
        let got = model.score(text);
        let d = (got - want).abs();
        assert!(
            d <= 1e-4,
            "score mismatch {got} vs {want} for {:?}",
            text.chars().take(80).collect::<String>()
        );
        worst = worst.max(d);
    }
    eprintln!("{} texts, worst difference {worst:e}", rows.len());
}

#[test]
fn topic_scores_match_python() {
    let model = topic_model().expect("embedded idf parses");
    let rows = lines("topic_agreement.jsonl");
    let meta = &rows[0];
    let thr = meta["threshold"].as_f64().expect("threshold");
    assert!((thr - TOPIC_THRESHOLD).abs() < 1e-12);
    let mut refs: Vec<String> = vec![meta["definition"].as_str().expect("definition").to_owned()];
    refs.extend(
        meta["examples"]
            .as_array()
            .expect("examples")
            .iter()
            .map(|e| e.as_str().expect("example").to_owned()),
    );
    let refs: Vec<&str> = refs.iter().map(String::as_str).collect();
    let topic = model.compile(&refs);
    for r in &rows[1..] {
        let text = r["text"].as_str().expect("text");
        let want = r["score"].as_f64().expect("score");
        let got = model.score(&topic, text);
        assert!(
            (got - want).abs() <= 1e-4,
            "topic score mismatch {got} vs {want} for {text:?}"
        );
    }
}

#[test]
fn f16_decoding() {
    use sekisho_classify::model::f16_to_f32;
    assert_eq!(f16_to_f32(0x3c00), 1.0);
    assert_eq!(f16_to_f32(0xc000), -2.0);
    assert_eq!(f16_to_f32(0x0000), 0.0);
    assert_eq!(f16_to_f32(0x0001), 2f32.powi(-24));
    assert_eq!(f16_to_f32(0x7bff), 65504.0);
    assert!(f16_to_f32(0x7c00).is_infinite());
    assert_eq!(f16_to_f32(0x3555), 0.333_251_95);
}
