//! External classifiers for guardrail content filters: an OpenAI-compatible
//! moderation endpoint (`/v1/moderations`) or a Llama Guard model behind an
//! OpenAI-compatible chat endpoint (`/v1/chat/completions`), named in the
//! configuration (`[[guardrail_classifier]]`) for any of the content
//! filters. Every guardrail of the gateway that configures such a filter
//! asks the endpoint instead of the embedded classifier.
//!
//! The guardrail engine is synchronous; a call here blocks its worker with
//! `block_in_place` while the request runs on the gateway's runtime. A
//! failure — timeout, refused connection, an answer that does not parse, a
//! text over the size limit — is an error, and the engine blocks what it
//! could not check (fail closed). The text is never logged.

use std::collections::{BTreeMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde::Deserialize;
use serde_json::{Value, json};

use sekisho_guard::classify::ClassifierError;
use sekisho_guard::config::{ContentFilterType, FilterStrength};
use sekisho_guard::{Classifier, ClassifierTask, ClassifierVerdict, Classifiers, Source};

use crate::backend::openai::{http_client, secret_from_env};

/// The wire protocol of an external classifier.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
pub enum Protocol {
    /// `POST {url}` with `{"model", "input"}`; scores per category.
    #[serde(rename = "openai-moderation")]
    OpenAiModeration,
    /// `POST {url}` (chat completions) to a Llama Guard model; the answer
    /// is `safe` or `unsafe` with the violated category codes.
    #[serde(rename = "llama-guard")]
    LlamaGuard,
}

/// One `[[guardrail_classifier]]` of the configuration.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExternalClassifierConfig {
    /// A name for logs and errors.
    pub name: String,
    pub protocol: Protocol,
    /// The full endpoint URL, e.g. `http://127.0.0.1:8000/v1/moderations`.
    pub url: String,
    /// The model to name in the request (required for `llama-guard`).
    #[serde(default)]
    pub model: Option<String>,
    /// Environment variable holding the API key (`Authorization: Bearer`).
    #[serde(default)]
    pub api_key_env: Option<String>,
    /// The content filters this classifier answers for.
    pub filters: Vec<ContentFilterType>,
    /// Moderation categories (or Llama Guard codes) per filter, replacing
    /// the defaults for the filters named.
    #[serde(default)]
    pub categories: BTreeMap<ContentFilterType, Vec<String>>,
    /// Limit for one call, connection included.
    #[serde(default = "default_timeout_ms")]
    pub timeout_ms: u64,
    /// Moderation scores at or above these give LOW / MEDIUM / HIGH confidence.
    #[serde(default)]
    pub thresholds: ScoreThresholds,
    /// Longest text sent; a longer one is not classified (fail closed).
    #[serde(default = "default_max_text_bytes")]
    pub max_text_bytes: usize,
}

fn default_timeout_ms() -> u64 {
    3000
}

fn default_max_text_bytes() -> usize {
    256 * 1024
}

#[derive(Debug, Clone, Copy, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ScoreThresholds {
    pub low: f64,
    pub medium: f64,
    pub high: f64,
}

impl Default for ScoreThresholds {
    fn default() -> Self {
        ScoreThresholds {
            low: 0.2,
            medium: 0.5,
            high: 0.8,
        }
    }
}

impl ScoreThresholds {
    fn confidence(&self, score: f64) -> FilterStrength {
        let &ScoreThresholds { low, medium, high } = self;
        sekisho_guard::classify::ConfidenceThresholds { low, medium, high }.confidence(score)
    }
}

/// The default categories of a filter: OpenAI's moderation categories, and
/// the Llama Guard 3 hazard codes (S1 violent crimes, S2 non-violent
/// crimes, S3 sex-related crimes, S4 child sexual exploitation, S9
/// indiscriminate weapons, S10 hate, S12 sexual content, S14 code
/// interpreter abuse). Llama Guard has no insult or prompt-attack
/// category, so those need `categories` in the configuration.
pub fn default_categories(
    protocol: Protocol,
    filter: ContentFilterType,
) -> &'static [&'static str] {
    use ContentFilterType::*;
    match (protocol, filter) {
        (Protocol::OpenAiModeration, Hate) => &["hate", "hate/threatening"],
        (Protocol::OpenAiModeration, Insults) => &["harassment", "harassment/threatening"],
        (Protocol::OpenAiModeration, Sexual) => &["sexual", "sexual/minors"],
        (Protocol::OpenAiModeration, Violence) => &["violence", "violence/graphic"],
        (Protocol::OpenAiModeration, Misconduct) => {
            &["illicit", "illicit/violent", "self-harm/instructions"]
        }
        (Protocol::LlamaGuard, Hate) => &["S10"],
        (Protocol::LlamaGuard, Sexual) => &["S3", "S4", "S12"],
        (Protocol::LlamaGuard, Violence) => &["S1", "S9"],
        (Protocol::LlamaGuard, Misconduct) => &["S1", "S2", "S14"],
        _ => &[],
    }
}

/// What an endpoint said about one text.
#[derive(Debug, Clone, PartialEq)]
enum Answer {
    /// Moderation: score per category.
    Scores(BTreeMap<String, f64>),
    /// Llama Guard: the violated codes (empty = safe).
    Violations(Vec<String>),
}

/// Recent answers by (source, SHA-256 of the text): one text is asked once
/// even when several filters of a guardrail (or stacked guardrails) need it.
#[derive(Debug, Default)]
struct AnswerCache {
    entries: VecDeque<(Source, [u8; 32], Instant, Answer)>,
}

const CACHE_ENTRIES: usize = 256;
const CACHE_TTL: Duration = Duration::from_secs(60);
/// Largest answer body read from the endpoint.
const MAX_ANSWER_BYTES: usize = 1024 * 1024;

impl AnswerCache {
    fn get(&mut self, source: Source, digest: &[u8; 32]) -> Option<Answer> {
        let now = Instant::now();
        self.entries
            .retain(|(_, _, at, _)| now.duration_since(*at) < CACHE_TTL);
        self.entries
            .iter()
            .find(|(s, d, _, _)| *s == source && d == digest)
            .map(|(_, _, _, a)| a.clone())
    }

    fn put(&mut self, source: Source, digest: [u8; 32], answer: Answer) {
        if self.entries.len() >= CACHE_ENTRIES {
            self.entries.pop_front();
        }
        self.entries
            .push_back((source, digest, Instant::now(), answer));
    }
}

/// A configured external classifier.
pub struct ExternalClassifier {
    name: String,
    protocol: Protocol,
    url: reqwest::Url,
    model: Option<String>,
    authorization: Option<reqwest::header::HeaderValue>,
    categories: BTreeMap<ContentFilterType, Vec<String>>,
    thresholds: ScoreThresholds,
    timeout: Duration,
    max_text_bytes: usize,
    client: reqwest::Client,
    cache: Mutex<AnswerCache>,
}

impl std::fmt::Debug for ExternalClassifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ExternalClassifier")
            .field("name", &self.name)
            .field("protocol", &self.protocol)
            .field("url", &self.url.as_str())
            .field("api_key", &self.authorization.as_ref().map(|_| "***"))
            .finish_non_exhaustive()
    }
}

impl ExternalClassifier {
    /// Validates `config` and reads its API key from the environment. The
    /// error names the setting at fault and never holds the key.
    pub fn from_config(config: &ExternalClassifierConfig) -> Result<Self, String> {
        let at = |m: String| format!("guardrail_classifier \"{}\": {m}", config.name);
        let url = reqwest::Url::parse(&config.url).map_err(|e| at(format!("url: {e}")))?;
        if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() {
            return Err(at(
                "url: must be an http:// or https:// URL with a host".into()
            ));
        }
        if !url.username().is_empty() || url.password().is_some() {
            return Err(at("url: must not hold credentials; use api_key_env".into()));
        }
        if config.protocol == Protocol::LlamaGuard && config.model.is_none() {
            return Err(at("model: required for protocol \"llama-guard\"".into()));
        }
        if config.filters.is_empty() {
            return Err(at("filters: name at least one content filter".into()));
        }
        if !(1..=60_000).contains(&config.timeout_ms) {
            return Err(at("timeout_ms: must be between 1 and 60000".into()));
        }
        if !(1..=4 * 1024 * 1024).contains(&config.max_text_bytes) {
            return Err(at("max_text_bytes: must be between 1 and 4194304".into()));
        }
        let t = config.thresholds;
        if !(0.0 < t.low && t.low <= t.medium && t.medium <= t.high && t.high <= 1.0) {
            return Err(at("thresholds: need 0 < low <= medium <= high <= 1".into()));
        }
        let mut categories = BTreeMap::new();
        for filter in &config.filters {
            let names: Vec<String> = match config.categories.get(filter) {
                Some(names) => names.clone(),
                None => default_categories(config.protocol, *filter)
                    .iter()
                    .map(|s| s.to_string())
                    .collect(),
            };
            if names.is_empty() {
                return Err(at(format!(
                    "filters: {} has no default category for this protocol; name them in categories.{}",
                    filter.as_str(),
                    filter.as_str()
                )));
            }
            categories.insert(*filter, names);
        }
        if let Some(extra) = config
            .categories
            .keys()
            .find(|f| !config.filters.contains(f))
        {
            return Err(at(format!(
                "categories.{}: the filter is not in filters",
                extra.as_str()
            )));
        }
        let authorization = match &config.api_key_env {
            Some(name) => {
                let key = secret_from_env(name, "api_key_env").map_err(at)?;
                let mut value =
                    reqwest::header::HeaderValue::try_from(format!("Bearer {}", key.expose()))
                        .map_err(|_| {
                            at(
                                "api_key_env: the key holds characters not allowed in a header"
                                    .into(),
                            )
                        })?;
                value.set_sensitive(true);
                Some(value)
            }
            None => None,
        };
        let timeout = Duration::from_millis(config.timeout_ms);
        Ok(ExternalClassifier {
            name: config.name.clone(),
            protocol: config.protocol,
            url,
            model: config.model.clone(),
            authorization,
            categories,
            thresholds: config.thresholds,
            timeout,
            max_text_bytes: config.max_text_bytes,
            client: http_client(timeout).map_err(at)?,
            cache: Mutex::new(AnswerCache::default()),
        })
    }

    /// The filters this classifier answers for.
    pub fn filters(&self) -> impl Iterator<Item = ContentFilterType> + '_ {
        self.categories.keys().copied()
    }

    fn request_body(&self, source: Source, text: &str) -> Value {
        match self.protocol {
            Protocol::OpenAiModeration => match &self.model {
                Some(model) => json!({ "model": model, "input": text }),
                None => json!({ "input": text }),
            },
            // Llama Guard classifies the last turn: a prompt as the user's,
            // an answer as the assistant's.
            Protocol::LlamaGuard => {
                let messages = match source {
                    Source::Input => json!([{ "role": "user", "content": text }]),
                    Source::Output => json!([
                        { "role": "user", "content": "(request not shown)" },
                        { "role": "assistant", "content": text }
                    ]),
                };
                json!({
                    "model": self.model,
                    "messages": messages,
                    "temperature": 0,
                    "max_tokens": 32,
                    "stream": false
                })
            }
        }
    }

    async fn ask(&self, source: Source, text: &str) -> Result<Answer, ClassifierError> {
        let fail = |m: String| ClassifierError(format!("external classifier {}: {m}", self.name));
        let mut request = self
            .client
            .post(self.url.clone())
            .timeout(self.timeout)
            .json(&self.request_body(source, text));
        if let Some(auth) = &self.authorization {
            request = request.header(reqwest::header::AUTHORIZATION, auth.clone());
        }
        let mut response = request.send().await.map_err(|e| {
            fail(if e.is_timeout() {
                "timed out".into()
            } else {
                "cannot reach the endpoint".into()
            })
        })?;
        let status = response.status();
        if !status.is_success() {
            return Err(fail(format!(
                "the endpoint answered HTTP {}",
                status.as_u16()
            )));
        }
        let mut body = Vec::new();
        while let Some(chunk) = response
            .chunk()
            .await
            .map_err(|_| fail("the answer was cut off".into()))?
        {
            if body.len() + chunk.len() > MAX_ANSWER_BYTES {
                return Err(fail("the answer is too large".into()));
            }
            body.extend_from_slice(&chunk);
        }
        let answer = match self.protocol {
            Protocol::OpenAiModeration => parse_moderation(&body).map(Answer::Scores),
            Protocol::LlamaGuard => parse_llama_guard_chat(&body).map(Answer::Violations),
        };
        answer.map_err(fail)
    }

    /// The endpoint's answer for `text`, from the cache or a call that
    /// blocks this thread (see the module docs).
    fn answer(&self, source: Source, text: &str) -> Result<Answer, ClassifierError> {
        if text.len() > self.max_text_bytes {
            return Err(ClassifierError(format!(
                "external classifier {}: the text is over max_text_bytes ({})",
                self.name, self.max_text_bytes
            )));
        }
        let digest: [u8; 32] =
            aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, text.as_bytes())
                .as_ref()
                .try_into()
                .map_err(|_| ClassifierError("digest length".into()))?;
        if let Some(answer) = self
            .cache
            .lock()
            .ok()
            .and_then(|mut c| c.get(source, &digest))
        {
            return Ok(answer);
        }
        let handle = tokio::runtime::Handle::try_current().map_err(|_| {
            ClassifierError(format!(
                "external classifier {}: no runtime to call it from",
                self.name
            ))
        })?;
        if handle.runtime_flavor() != tokio::runtime::RuntimeFlavor::MultiThread {
            // block_in_place would panic on a single-threaded runtime.
            return Err(ClassifierError(format!(
                "external classifier {}: needs the multi-threaded runtime",
                self.name
            )));
        }
        let answer = tokio::task::block_in_place(|| handle.block_on(self.ask(source, text)));
        match &answer {
            Ok(a) => {
                if let Ok(mut cache) = self.cache.lock() {
                    cache.put(source, digest, a.clone());
                }
            }
            Err(e) => {
                tracing::warn!(classifier = %self.name, error = %e.0, "external classifier failed; the filter blocks")
            }
        }
        answer
    }

    fn confidence(&self, filter: ContentFilterType, answer: &Answer) -> FilterStrength {
        let names = self.categories.get(&filter).map_or(&[][..], Vec::as_slice);
        match answer {
            Answer::Scores(scores) => {
                let score = names
                    .iter()
                    .filter_map(|n| scores.get(n))
                    .copied()
                    .fold(0.0, f64::max);
                self.thresholds.confidence(score)
            }
            Answer::Violations(codes) => {
                if codes
                    .iter()
                    .any(|c| names.iter().any(|n| n.eq_ignore_ascii_case(c)))
                {
                    FilterStrength::High
                } else {
                    FilterStrength::None
                }
            }
        }
    }
}

impl Classifier for ExternalClassifier {
    fn classify(&self, task: &ClassifierTask<'_>) -> Result<ClassifierVerdict, ClassifierError> {
        match task {
            ClassifierTask::Content {
                filter,
                source,
                text,
            } if self.categories.contains_key(filter) => {
                let answer = self.answer(*source, text)?;
                Ok(ClassifierVerdict::Confidence(
                    self.confidence(*filter, &answer),
                ))
            }
            _ => Err(ClassifierError(format!(
                "external classifier {} does not answer this filter",
                self.name
            ))),
        }
    }
}

/// Scores per category of an OpenAI moderation answer (the first result).
/// Without `category_scores`, a flagged category counts as 1.0.
pub fn parse_moderation(body: &[u8]) -> Result<BTreeMap<String, f64>, String> {
    let v: Value =
        serde_json::from_slice(body).map_err(|_| "the answer is not JSON".to_string())?;
    let result = v
        .get("results")
        .and_then(Value::as_array)
        .and_then(|r| r.first())
        .ok_or("the answer has no results[0]")?;
    let mut scores = BTreeMap::new();
    if let Some(s) = result.get("category_scores").and_then(Value::as_object) {
        for (name, score) in s {
            let score = score
                .as_f64()
                .filter(|x| (0.0..=1.0).contains(x))
                .ok_or_else(|| format!("category_scores.{name} is not a number in [0, 1]"))?;
            scores.insert(name.clone(), score);
        }
    } else if let Some(c) = result.get("categories").and_then(Value::as_object) {
        for (name, flagged) in c {
            let flagged = flagged
                .as_bool()
                .ok_or_else(|| format!("categories.{name} is not a boolean"))?;
            scores.insert(name.clone(), if flagged { 1.0 } else { 0.0 });
        }
    } else {
        return Err("results[0] has neither category_scores nor categories".into());
    }
    Ok(scores)
}

/// The violated codes of a Llama Guard chat answer: `safe` → none,
/// `unsafe` + a line of comma-separated codes → those codes. Anything else
/// is an error (so the filter fails closed).
pub fn parse_llama_guard_chat(body: &[u8]) -> Result<Vec<String>, String> {
    let v: Value =
        serde_json::from_slice(body).map_err(|_| "the answer is not JSON".to_string())?;
    let content = v
        .pointer("/choices/0/message/content")
        .and_then(Value::as_str)
        .ok_or("the answer has no choices[0].message.content")?;
    parse_llama_guard_verdict(content)
}

pub fn parse_llama_guard_verdict(content: &str) -> Result<Vec<String>, String> {
    let mut lines = content.lines().map(str::trim).filter(|l| !l.is_empty());
    match lines.next().map(str::to_ascii_lowercase).as_deref() {
        Some("safe") => Ok(Vec::new()),
        Some("unsafe") => {
            let codes: Vec<String> = lines
                .next()
                .unwrap_or("")
                .split(',')
                .map(|c| c.trim().to_ascii_uppercase())
                .filter(|c| !c.is_empty())
                .collect();
            if codes.is_empty() {
                // Unsafe without a category still must not pass.
                Ok(vec!["UNSPECIFIED".into()])
            } else {
                Ok(codes)
            }
        }
        _ => Err("the answer is neither \"safe\" nor \"unsafe\"".into()),
    }
}

/// The embedded classifiers with the configured external ones in place of
/// the filters they name. A filter named by two external classifiers is an
/// error.
pub fn with_external(
    embedded: &Classifiers,
    configs: &[ExternalClassifierConfig],
) -> Result<Classifiers, String> {
    let mut classifiers = embedded.clone();
    let mut claimed: BTreeMap<ContentFilterType, &str> = BTreeMap::new();
    for config in configs {
        let external = Arc::new(ExternalClassifier::from_config(config)?);
        for filter in external.filters() {
            if let Some(other) = claimed.insert(filter, &config.name) {
                return Err(format!(
                    "guardrail_classifier \"{}\": filter {} is already answered by \"{other}\"",
                    config.name,
                    filter.as_str()
                ));
            }
            classifiers.content.insert(filter, external.clone());
        }
    }
    Ok(classifiers)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn moderation_scores_and_flags() {
        let body = br#"{"id":"m","results":[{"flagged":true,
            "categories":{"hate":true,"violence":false},
            "category_scores":{"hate":0.91,"violence":0.02,"harassment":0.4}}]}"#;
        let s = parse_moderation(body).unwrap();
        assert_eq!(s["hate"], 0.91);
        assert_eq!(s["harassment"], 0.4);
        let flags = br#"{"results":[{"categories":{"sexual":true,"hate":false}}]}"#;
        let s = parse_moderation(flags).unwrap();
        assert_eq!((s["sexual"], s["hate"]), (1.0, 0.0));
        for bad in [
            &b"not json"[..],
            br#"{"results":[]}"#,
            br#"{"results":[{"category_scores":{"hate":"high"}}]}"#,
            br#"{"results":[{"category_scores":{"hate":7}}]}"#,
            br#"{"results":[{}]}"#,
        ] {
            assert!(
                parse_moderation(bad).is_err(),
                "{}",
                String::from_utf8_lossy(bad)
            );
        }
    }

    #[test]
    fn llama_guard_verdicts() {
        assert_eq!(
            parse_llama_guard_verdict("safe").unwrap(),
            Vec::<String>::new()
        );
        assert_eq!(
            parse_llama_guard_verdict("\n\nunsafe\nS1, s10").unwrap(),
            ["S1", "S10"]
        );
        assert_eq!(
            parse_llama_guard_verdict("unsafe").unwrap(),
            ["UNSPECIFIED"]
        );
        assert!(parse_llama_guard_verdict("I cannot help with that").is_err());
        assert!(parse_llama_guard_verdict("").is_err());
        let body = br#"{"choices":[{"message":{"role":"assistant","content":"unsafe\nS10"}}]}"#;
        assert_eq!(parse_llama_guard_chat(body).unwrap(), ["S10"]);
        assert!(parse_llama_guard_chat(br#"{"choices":[]}"#).is_err());
    }

    fn config(protocol: Protocol, filters: &[ContentFilterType]) -> ExternalClassifierConfig {
        ExternalClassifierConfig {
            name: "test".into(),
            protocol,
            url: "http://127.0.0.1:9/v1/moderations".into(),
            model: Some("guard".into()),
            api_key_env: None,
            filters: filters.to_vec(),
            categories: BTreeMap::new(),
            timeout_ms: 500,
            thresholds: ScoreThresholds::default(),
            max_text_bytes: 1024,
        }
    }

    #[test]
    fn confidence_from_scores_and_codes() {
        use ContentFilterType::*;
        let m =
            ExternalClassifier::from_config(&config(Protocol::OpenAiModeration, &[Hate, Insults]))
                .unwrap();
        let scores = Answer::Scores(BTreeMap::from([
            ("hate/threatening".to_string(), 0.85),
            ("harassment".to_string(), 0.3),
        ]));
        assert_eq!(m.confidence(Hate, &scores), FilterStrength::High);
        assert_eq!(m.confidence(Insults, &scores), FilterStrength::Low);
        let g = ExternalClassifier::from_config(&config(Protocol::LlamaGuard, &[Hate, Violence]))
            .unwrap();
        let unsafe_hate = Answer::Violations(vec!["S10".into()]);
        assert_eq!(g.confidence(Hate, &unsafe_hate), FilterStrength::High);
        assert_eq!(g.confidence(Violence, &unsafe_hate), FilterStrength::None);
    }

    #[test]
    fn configuration_errors_name_the_setting() {
        use ContentFilterType::*;
        let err = |c: ExternalClassifierConfig| ExternalClassifier::from_config(&c).unwrap_err();
        let mut c = config(Protocol::LlamaGuard, &[Insults]);
        assert!(
            err(c.clone()).contains("categories.INSULTS"),
            "{}",
            err(c.clone())
        );
        c.categories.insert(Insults, vec!["S5".into()]);
        assert!(ExternalClassifier::from_config(&c).is_ok());
        let mut c = config(Protocol::LlamaGuard, &[Hate]);
        c.model = None;
        assert!(err(c).contains("model"));
        let mut c = config(Protocol::OpenAiModeration, &[Hate]);
        c.url = "ftp://x".into();
        assert!(err(c).contains("url"));
        let mut c = config(Protocol::OpenAiModeration, &[Hate]);
        c.url = "http://user:pw@host/v1/moderations".into();
        assert!(err(c).contains("credentials"));
        let mut c = config(Protocol::OpenAiModeration, &[Hate]);
        c.thresholds.low = 0.9;
        assert!(err(c).contains("thresholds"));
        let mut c = config(Protocol::OpenAiModeration, &[Hate]);
        c.categories.insert(Sexual, vec!["sexual".into()]);
        assert!(err(c).contains("categories.SEXUAL"));
        let c = config(Protocol::OpenAiModeration, &[]);
        assert!(err(c).contains("filters"));
    }

    #[test]
    fn parses_from_the_configuration_file() {
        let c = crate::config::Config::parse(
            "[[guardrail_classifier]]\nname = \"g\"\nprotocol = \"llama-guard\"\n\
             url = \"http://127.0.0.1:8000/v1/chat/completions\"\nmodel = \"llama-guard-3\"\n\
             filters = [\"INSULTS\", \"HATE\"]\ncategories = { INSULTS = [\"S5\"] }\n\
             thresholds = { high = 0.9 }\n",
        )
        .unwrap();
        let g = &c.guardrail_classifiers[0];
        assert_eq!(g.protocol, Protocol::LlamaGuard);
        assert_eq!(g.categories[&ContentFilterType::Insults], ["S5"]);
        assert_eq!((g.thresholds.medium, g.thresholds.high), (0.5, 0.9));
        let e = crate::config::Config::parse(
            "[[guardrail_classifier]]\nname = \"g\"\nprotocol = \"llama-guard\"\nurl = \"http://x/\"\n\
             filters = [\"RUDENESS\"]\n",
        )
        .unwrap_err();
        assert!(e.contains("filters") || e.contains("RUDENESS"), "{e}");
    }

    #[test]
    fn a_filter_is_answered_by_one_classifier() {
        use ContentFilterType::*;
        let a = config(Protocol::OpenAiModeration, &[Hate]);
        let mut b = config(Protocol::OpenAiModeration, &[Hate, Sexual]);
        b.name = "second".into();
        let e = with_external(&Classifiers::default(), &[a.clone(), b]).unwrap_err();
        assert!(e.contains("HATE") && e.contains("second"), "{e}");
        let c = with_external(&Classifiers::default(), &[a]).unwrap();
        assert!(c.content.contains_key(&Hate));
    }

    #[test]
    fn outside_a_multi_threaded_runtime_it_fails_closed() {
        let m = ExternalClassifier::from_config(&config(
            Protocol::OpenAiModeration,
            &[ContentFilterType::Hate],
        ))
        .unwrap();
        let task = ClassifierTask::Content {
            filter: ContentFilterType::Hate,
            source: Source::Input,
            text: "hello",
        };
        assert!(m.classify(&task).is_err());
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let r = rt.block_on(async { m.classify(&task) });
        assert!(r.unwrap_err().0.contains("multi-threaded"));
        // Oversized text is refused before any call.
        let long = "x".repeat(2048);
        let task = ClassifierTask::Content {
            filter: ContentFilterType::Hate,
            source: Source::Input,
            text: &long,
        };
        assert!(m.classify(&task).unwrap_err().0.contains("max_text_bytes"));
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn an_unreachable_endpoint_is_an_error_not_a_pass() {
        // Port 9 (discard) on loopback: connection refused.
        let m = ExternalClassifier::from_config(&config(
            Protocol::OpenAiModeration,
            &[ContentFilterType::Hate],
        ))
        .unwrap();
        let r = m.classify(&ClassifierTask::Content {
            filter: ContentFilterType::Hate,
            source: Source::Input,
            text: "hello",
        });
        assert!(r.is_err());
    }
}
