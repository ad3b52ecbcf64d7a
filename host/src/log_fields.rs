//! How oauth-host writes an event's fields: tracing-subscriber's default
//! layout (the message, then `name=value` with the value's `Debug`), with
//! terminal control characters in the message escaped as the default does
//! (ESC, BEL, BS, FF, DEL and the C1 controls), but in one pass over the
//! bytes: a message with none of them is written in one piece. The default
//! writes every character on its own, which made a module's audit lines
//! (a few hundred bytes per request) a visible share of the host's time.
//! One difference: on a terminal, field names are not set in italics.

use std::fmt::{self, Write};

use tracing::field::{Field, Visit};
use tracing_subscriber::field::RecordFields;
use tracing_subscriber::fmt::format::Writer;
use tracing_subscriber::fmt::FormatFields;

/// The field formatter installed by `main` (`fmt().fmt_fields(HostFields)`).
#[derive(Debug, Clone, Copy, Default)]
pub struct HostFields;

impl<'w> FormatFields<'w> for HostFields {
    fn format_fields<R: RecordFields>(&self, writer: Writer<'w>, fields: R) -> fmt::Result {
        let sanitize = writer.sanitizes_ansi_escapes();
        let mut visitor = Visitor {
            writer,
            sanitize,
            empty: true,
            result: Ok(()),
        };
        fields.record(&mut visitor);
        visitor.result
    }
}

struct Visitor<'w> {
    writer: Writer<'w>,
    sanitize: bool,
    empty: bool,
    result: fmt::Result,
}

impl Visitor<'_> {
    fn field(&mut self, field: &Field, value: &dyn fmt::Debug) {
        let name = field.name();
        // Log metadata (the `log` bridge) is written by the event formatter.
        if self.result.is_err() || name.starts_with("log.") {
            return;
        }
        if !std::mem::take(&mut self.empty) {
            self.result = self.writer.write_char(' ');
        }
        self.result = self.result.and_then(|()| match name {
            "message" if self.sanitize => write!(Escaping(&mut self.writer), "{value:?}"),
            "message" => write!(self.writer, "{value:?}"),
            name => {
                let name = name.strip_prefix("r#").unwrap_or(name);
                write!(self.writer, "{name}={value:?}")
            }
        });
    }
}

impl Visit for Visitor<'_> {
    fn record_str(&mut self, field: &Field, value: &str) {
        if field.name() == "message" {
            self.field(field, &format_args!("{value}"));
        } else {
            self.field(field, &value);
        }
    }

    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        self.field(field, value);
    }
}

/// Writes text through, escaping the characters a terminal would act on.
struct Escaping<'a, W: Write>(&'a mut W);

impl<W: Write> Write for Escaping<'_, W> {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        // 0xC2 leads every C1 control (U+0080..U+009F) in UTF-8; a text
        // without it and without the C0 ones needs no escaping.
        // A fold without early exit: the compiler checks many bytes at once.
        let suspect = s.bytes().fold(false, |seen, b| {
            seen | matches!(b, 0x07 | 0x08 | 0x0c | 0x1b | 0x7f | 0xc2)
        });
        if !suspect {
            return self.0.write_str(s);
        }
        let mut start = 0;
        for (i, ch) in s.char_indices() {
            let escaped = match ch {
                '\x07' | '\x08' | '\x0c' | '\x1b' | '\x7f' => true,
                c => ('\u{80}'..='\u{9f}').contains(&c),
            };
            if escaped {
                self.0.write_str(&s[start..i])?;
                match ch {
                    '\x07' | '\x08' | '\x0c' | '\x1b' | '\x7f' => {
                        write!(self.0, "\\x{:02x}", u32::from(ch))?
                    }
                    _ => write!(self.0, "\\u{{{:x}}}", u32::from(ch))?,
                }
                start = i + ch.len_utf8();
            }
        }
        self.0.write_str(&s[start..])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn escaped(s: &str) -> String {
        let mut out = String::new();
        Escaping(&mut out).write_str(s).unwrap();
        out
    }

    #[test]
    fn plain_text_passes_in_one_piece() {
        let line = r#"{"decision":"allow","path":"/a b/é"}"#;
        assert_eq!(escaped(line), line);
    }

    #[test]
    fn terminal_controls_are_escaped_as_the_default_formatter_does() {
        assert_eq!(escaped("a\x1b[31mb"), "a\\x1b[31mb");
        assert_eq!(escaped("\x07\x08\x0c\x7f"), "\\x07\\x08\\x0c\\x7f");
        assert_eq!(escaped("x\u{9b}y\u{85}"), "x\\u{9b}y\\u{85}");
        // 0xC2 leads non-control characters too: they pass unchanged.
        assert_eq!(escaped("¢ \u{a0}z"), "¢ \u{a0}z");
        // Other C0 characters (tab, newline) are not terminal escapes.
        assert_eq!(escaped("a\tb\nc"), "a\tb\nc");
    }

    /// The events of `emit`, written with the field formatter `F`.
    fn capture<F>(fields: F) -> String
    where
        F: for<'w> FormatFields<'w> + Send + Sync + 'static,
    {
        use std::sync::{Arc, Mutex};
        #[derive(Clone, Default)]
        struct Sink(Arc<Mutex<Vec<u8>>>);
        impl std::io::Write for Sink {
            fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
                self.0.lock().unwrap().extend_from_slice(b);
                Ok(b.len())
            }
            fn flush(&mut self) -> std::io::Result<()> {
                Ok(())
            }
        }
        let sink = Sink::default();
        let out = sink.clone();
        let subscriber = tracing_subscriber::fmt()
            .fmt_fields(fields)
            .with_ansi(false)
            .without_time()
            .with_writer(move || sink.clone())
            .finish();
        tracing::subscriber::with_default(subscriber, || {
            let message = "line \x1b[2J one \u{9b}two";
            tracing::info!(target: "wasm", plugin = "p", "{message}");
            tracing::warn!(r#type = 3, name = "a\"b", "plain");
            tracing::error!(status = ?Some(4), "{}", "x");
            tracing::info!(target: "wasm", "{}", "tab\tend");
        });
        let text = out.0.lock().unwrap().clone();
        String::from_utf8(text).unwrap()
    }

    #[test]
    fn events_read_as_with_the_default_formatter() {
        let ours = capture(HostFields);
        assert_eq!(
            ours,
            capture(tracing_subscriber::fmt::format::DefaultFields::new())
        );
        assert!(ours.contains(r"line \x1b[2J one \u{9b}two"), "{ours}");
    }
}
