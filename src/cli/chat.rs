//! `chat`: reads lines, hands each to the [`Session`] and prints the [`Turn`] it produced.
//!
//! On a terminal (stdin and stdout both) lines come from a line editor (rustyline): history
//! with the arrow keys, Ctrl-C clears the line, Ctrl-D ends; answers are wrapped to the
//! terminal's width, measured at each answer. Otherwise (a pipe, or `--json`) plain lines are
//! read and nothing but the answers is printed. With `--json` every input line gets exactly
//! one JSON document on one line, whatever the line (`/quit` ends the chat and prints none).

use std::io::{BufRead, IsTerminal, Write};

use anyhow::Context;
use serde_json::json;

use super::session::{Session, Turn, HELP};
use crate::answer::{Answer, Engine};
use crate::config::ConversationSettings;
use crate::render::{self, Style};

/// How turns are printed.
#[derive(Debug, Clone, Copy)]
enum Format {
    /// One JSON document per line.
    Json,
    /// Text for a person, wrapped to `width` columns when one is known.
    Text { style: Style, width: Option<usize> },
}

/// Runs `chat` on the process's stdin and stdout. Returns the exit code.
pub fn run(engine: &Engine, conversation: &ConversationSettings, json: bool) -> anyhow::Result<u8> {
    let terminal = std::io::stdin().is_terminal() && std::io::stdout().is_terminal();
    if terminal && !json {
        edit(engine, Session::new(conversation.clone()))
    } else {
        let style = if std::io::stdout().is_terminal() {
            Style::Ansi
        } else {
            Style::Plain
        };
        over_lines(
            engine,
            Session::new(conversation.clone()),
            json,
            style,
            std::io::stdin().lock(),
            &mut std::io::stdout(),
        )
    }
}

/// The chat over plain lines (a pipe): no prompt, no banner.
fn over_lines(
    engine: &Engine,
    mut session: Session,
    json: bool,
    style: Style,
    input: impl BufRead,
    out: &mut dyn Write,
) -> anyhow::Result<u8> {
    let format = if json {
        Format::Json
    } else {
        Format::Text { style, width: None }
    };
    for line in input.lines() {
        let line = line.context("cannot read the input")?;
        if !turn(engine, &mut session, &line, format, out)? {
            break;
        }
    }
    Ok(super::EXIT_OK)
}

/// The chat in a terminal: a line editor with history.
fn edit(engine: &Engine, mut session: Session) -> anyhow::Result<u8> {
    use rustyline::error::ReadlineError;
    let mut editor = rustyline::DefaultEditor::with_config(editor_config())
        .context("cannot start the line editor")?;
    let mut out = std::io::stdout();
    writeln!(
        out,
        "articlebot chat — {} articles. /help for commands, /quit to leave; ↑ recalls, Ctrl-C \
         clears the line, Ctrl-D ends.",
        engine.library().articles.len()
    )?;
    loop {
        let prompt = match session.focus() {
            Some(f) => format!("[{f}] > "),
            None => "> ".to_string(),
        };
        match editor.readline(prompt.as_str()) {
            Ok(line) => {
                if !line.trim().is_empty() {
                    let _ = editor.add_history_entry(line.as_str());
                }
                let format = Format::Text {
                    style: Style::Ansi,
                    width: terminal_width(),
                };
                if !turn(engine, &mut session, &line, format, &mut out)? {
                    break;
                }
            }
            // Ctrl-C: the line is dropped and a fresh prompt shown, as in a shell.
            Err(ReadlineError::Interrupted) => continue,
            Err(ReadlineError::Eof) => break,
            Err(e) => return Err(e).context("cannot read the terminal"),
        }
    }
    Ok(super::EXIT_OK)
}

/// The line editor's settings: history of distinct lines, Emacs keys (arrows, Ctrl-A/E,
/// Ctrl-R search), and Ctrl-C returned to us rather than ending the process.
fn editor_config() -> rustyline::Config {
    rustyline::Config::builder()
        .max_history_size(1000)
        .expect("a positive history size")
        .history_ignore_dups(true)
        .expect("a valid setting")
        .history_ignore_space(true)
        .auto_add_history(false)
        .edit_mode(rustyline::EditMode::Emacs)
        .build()
}

/// The terminal's width in columns, when stdout is one.
fn terminal_width() -> Option<usize> {
    console::Term::stdout()
        .size_checked()
        .map(|(_rows, cols)| usize::from(cols))
        .filter(|&cols| cols >= 20)
}

/// Interprets one line and prints what it produced. `false`: the chat ends.
fn turn(
    engine: &Engine,
    session: &mut Session,
    line: &str,
    format: Format,
    out: &mut dyn Write,
) -> anyhow::Result<bool> {
    let shown = match session.interpret(engine, line) {
        Ok(Turn::Quit) => return Ok(false),
        Ok(turn) => show(&turn, format),
        Err(e) => {
            tracing::error!("{e:#}");
            failed(&e, format)
        }
    };
    out.write_all(shown.as_bytes())?;
    out.flush()?;
    Ok(true)
}

/// What a failed line prints: in JSON, a document that says so (the log has the details).
fn failed(e: &anyhow::Error, format: Format) -> String {
    match format {
        Format::Json => document(&json!({ "error": "failed", "note": format!("{e:#}") })),
        Format::Text { .. } => "Sorry, something went wrong; the log says what.\n".to_string(),
    }
}

/// A turn as the format prints it.
fn show(turn: &Turn, format: Format) -> String {
    match format {
        Format::Json => document(&match turn {
            Turn::Answer(answer) => super::answer_json(answer),
            Turn::Said(turn) => turn.json(),
            Turn::Discussing(d) => {
                let mut value = serde_json::to_value(d).unwrap_or_default();
                if let serde_json::Value::Object(fields) = &mut value {
                    fields.insert("kind".into(), json!("summary"));
                }
                value
            }
            Turn::Undiscussed => json!({ "discussing": null }),
            Turn::Help => json!({ "help": HELP }),
            Turn::Empty => json!({ "error": "empty_line", "note": "type a question or /help" }),
            Turn::Unknown(name) => json!({
                "error": "unknown_command",
                "command": format!("/{name}"),
                "note": "/help lists the commands",
            }),
            Turn::Quit => return String::new(),
        }),
        Format::Text { style, width } => {
            let text = match turn {
                Turn::Answer(answer) => render::text(answer, style),
                Turn::Said(turn) => match (&turn.response, turn.plain()) {
                    (_, Some(text)) => format!("{text}\n"),
                    (crate::conversation::Response::Answer(answer), None) => {
                        render::text(answer, style)
                    }
                    (_, None) => String::new(),
                },
                Turn::Discussing(d) => {
                    let mut text = format!(
                        "Discussing {} — questions go to it first.\n",
                        d.summary.title
                    );
                    text.push_str(&render::text(&Answer::Summary(d.summary.clone()), style));
                    if let Some(t) = &d.takeaways {
                        text.push_str(&render::text(&Answer::Takeaways(t.clone()), style));
                    }
                    text
                }
                Turn::Undiscussed => "Questions now go to the whole collection.\n".into(),
                Turn::Help => format!("{HELP}\n"),
                Turn::Empty | Turn::Quit => String::new(),
                Turn::Unknown(name) => {
                    format!("unknown command /{name}; /help lists the commands\n")
                }
            };
            match width {
                Some(width) => wrap(&text, width),
                None => text,
            }
        }
    }
}

/// One JSON document on one line.
fn document(value: &serde_json::Value) -> String {
    let mut line = serde_json::to_string(value).unwrap_or_default();
    line.push('\n');
    line
}

/// Wraps every line of `text` to `width` columns (ANSI marks take no room); continuation
/// lines keep the line's indentation, and a list item's text lines up after its bullet.
fn wrap(text: &str, width: usize) -> String {
    let mut out = String::with_capacity(text.len() + text.len() / width.max(1));
    for line in text.lines() {
        let indent_len = line.len() - line.trim_start().len();
        let indent = &line[..indent_len];
        let rest = &line[indent_len..];
        let bullet = ["- ", "• ", "* "]
            .iter()
            .find(|b| rest.starts_with(*b))
            .map_or(0, |b| b.chars().count());
        let hanging = format!("{indent}{}", " ".repeat(bullet));
        let options = textwrap::Options::new(width)
            .initial_indent("")
            .subsequent_indent(&hanging)
            .break_words(true);
        for piece in textwrap::wrap(line, options) {
            out.push_str(&piece);
            out.push('\n');
        }
        if line.is_empty() {
            out.push('\n');
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wrapping_keeps_indentation_and_ignores_colour() {
        let text = "Title\n  - a bullet whose text is long enough to wrap twice at twenty\n\nend\n";
        let wrapped = wrap(text, 20);
        for line in wrapped.lines() {
            assert!(textwrap::core::display_width(line) <= 20, "{line:?}");
        }
        assert!(
            wrapped.starts_with("Title\n  - a bullet whose\n    text"),
            "{wrapped}"
        );
        assert!(
            wrapped.contains("\n\nend\n"),
            "blank lines stay: {wrapped:?}"
        );
        let bold = "\x1b[1mcomposting\x1b[0m takes two to three months";
        let wrapped = wrap(bold, 24);
        assert_eq!(
            wrapped.lines().next(),
            Some("\x1b[1mcomposting\x1b[0m takes two to"),
            "escape codes take no columns"
        );
    }

    #[test]
    fn the_editor_keeps_history_in_emacs_mode() {
        let config = editor_config();
        assert_eq!(config.max_history_size(), 1000);
        assert_eq!(
            config.history_duplicates(),
            rustyline::config::HistoryDuplicates::IgnoreConsecutive
        );
        assert!(config.history_ignore_space());
        assert!(
            !config.auto_add_history(),
            "chat adds non-empty lines itself"
        );
        assert_eq!(config.edit_mode(), rustyline::EditMode::Emacs);
    }

    #[test]
    fn every_kind_of_turn_is_one_json_line() {
        let turns = [
            Turn::Help,
            Turn::Empty,
            Turn::Undiscussed,
            Turn::Unknown("nope".into()),
        ];
        for turn in &turns {
            let shown = show(turn, Format::Json);
            assert_eq!(shown.matches('\n').count(), 1, "{shown}");
            let v: serde_json::Value = serde_json::from_str(&shown).expect("JSON");
            assert!(v.is_object(), "{shown}");
        }
        let v: serde_json::Value =
            serde_json::from_str(&show(&Turn::Unknown("nope".into()), Format::Json)).unwrap();
        assert_eq!(v["error"], "unknown_command");
        assert_eq!(v["command"], "/nope");
        assert_eq!(show(&Turn::Quit, Format::Json), "");
    }
}
