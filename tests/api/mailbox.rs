//! The mails the worker sent, read where `wrangler dev` leaves them: its `send_email` binding logs
//! `From`/`To`/`Subject` and the paths of the text and HTML bodies (files under its temporary
//! directory, deleted when it exits), in the worker's log (`WEMASY_WORKER_LOG`).

use std::time::{Duration, Instant};

const MARK: &str = "send_email binding called with MessageBuilder:";

#[derive(Debug, Clone)]
pub struct Mail {
    pub from: String,
    pub to: String,
    pub subject: String,
    pub text: String,
    pub html: String,
}

impl Mail {
    /// The token of the mail's one link (`…#token=…`).
    pub fn token(&self) -> String {
        let start = self.text.find("#token=").expect("a link with a token") + "#token=".len();
        self.text[start..].chars().take_while(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_').collect()
    }

    /// The mail's link, as printed in its text.
    pub fn link(&self) -> String {
        let end = self.text.find("#token=").expect("a link") + "#token=".len() + self.token().len();
        let start = self.text[..end].rfind("http").expect("a URL");
        self.text[start..end].to_string()
    }
}

fn log_path() -> String {
    std::env::var("WEMASY_WORKER_LOG").expect("WEMASY_WORKER_LOG: run the API tests through `make test`")
}

fn field<'a>(block: &'a str, name: &str) -> Option<&'a str> {
    block.lines().find_map(|line| line.strip_prefix(name)).map(str::trim)
}

/// Every mail sent so far to `to`, oldest first.
pub fn sent_to(to: &str) -> Vec<Mail> {
    let log = std::fs::read_to_string(log_path()).unwrap_or_default();
    log.split(MARK)
        .skip(1)
        .filter_map(|block| {
            let (to_field, text_path) = (field(block, "To:")?, field(block, "Text:")?);
            (to_field == to).then_some(())?;
            Some(Mail {
                from: field(block, "From:")?.to_string(),
                to: to_field.to_string(),
                subject: field(block, "Subject:")?.to_string(),
                text: std::fs::read_to_string(text_path).ok()?,
                html: std::fs::read_to_string(field(block, "HTML:")?).unwrap_or_default(),
            })
        })
        .collect()
}

/// The first mail to `to` whose subject contains `subject` (past the first `skip` of them),
/// waiting for the queue to deliver it (at most 30 s).
pub async fn wait_for(to: &str, subject: &str) -> Mail {
    wait_for_nth(to, subject, 0).await
}

pub async fn wait_for_nth(to: &str, subject: &str, skip: usize) -> Mail {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if let Some(mail) = sent_to(to).into_iter().filter(|m| m.subject.contains(subject)).nth(skip) {
            return mail;
        }
        assert!(Instant::now() < deadline, "no mail \"{subject}\" #{} to {to} within 30 s", skip + 1);
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

/// How many mails to `to` have a subject containing `subject`.
pub fn count(to: &str, subject: &str) -> usize {
    sent_to(to).iter().filter(|m| m.subject.contains(subject)).count()
}
