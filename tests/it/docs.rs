//! Every `gruf` command in the docs parses with the real command-line definition, so a
//! renamed or misspelt flag in README.md, CONTRIBUTING.md or docs/*.md fails a test instead
//! of a reader. This checks the words only; `scripts/doc-commands.sh` runs the commands.
//!
//! A command is a `gruf …` (or `cargo run --release -- …`) line inside a fenced code block
//! whose language is empty, `sh`, `bash`, `shell` or `console` (`python`, `toml`, `yaml`,
//! `text`, … are left alone). Lines ending in `\` are joined (and so are those of a '…'
//! quote spanning lines), a `$ ` prompt is dropped, a `#` comment is cut, and the line is split at `|`, `&&`, `||` and `;` (each piece is its
//! own command), with redirections dropped; a quoted argument that is itself a gruf command
//! (`parallel 'gruf train …'`, `sh -c "gruf …"`) is checked too.

use std::path::{Path, PathBuf};

use clap::Parser;
use gruf::cli::Cli;

/// One `gruf` command found in a document: where, and its words after `gruf`.
#[derive(Debug, PartialEq)]
struct DocCommand {
    /// 1-based line of the command's first line in its file.
    line: usize,
    /// The words, `gruf` first, quotes removed.
    words: Vec<String>,
}

/// Fence languages whose lines are shell commands.
fn is_shell(info: &str) -> bool {
    matches!(info, "" | "sh" | "bash" | "shell" | "console")
}

/// The shell lines of the fenced code blocks of a markdown text: (line number, joined line).
fn shell_lines(text: &str) -> Vec<(usize, String)> {
    let mut out = Vec::new();
    let mut fence: Option<(String, bool)> = None; // (the fence's backticks, shell?)
    let mut pending: Option<(usize, String)> = None;
    for (i, raw) in text.lines().enumerate() {
        let trimmed = raw.trim_start();
        if trimmed.starts_with("```") {
            let ticks: String = trimmed.chars().take_while(|&c| c == '`').collect();
            match &fence {
                None => {
                    let info = trimmed[ticks.len()..].trim();
                    let lang = info.split([' ', ',', '{']).next().unwrap_or("");
                    fence = Some((ticks, is_shell(lang)));
                }
                Some((open, _)) if trimmed.trim_end() == open.as_str() => {
                    if let Some(p) = pending.take() {
                        out.push(p);
                    }
                    fence = None;
                }
                Some(_) => {}
            }
            continue;
        }
        let Some((_, true)) = &fence else { continue };
        let mut line = trimmed.trim_end();
        if pending.is_none() {
            line = line.strip_prefix("$ ").unwrap_or(line);
        }
        let (continues, body) = match line.strip_suffix('\\') {
            Some(body) => (true, body),
            None => (false, line),
        };
        let entry = pending.get_or_insert_with(|| (i + 1, String::new()));
        if !entry.1.is_empty() {
            entry.1.push(' ');
        }
        entry.1.push_str(body.trim());
        if !continues && !ends_in_open_quote(&entry.1) {
            out.extend(pending.take());
        }
    }
    out.extend(pending);
    out
}

/// Whether a shell line ends inside a '…' quote, which then goes on on the next line (a `#`
/// comment outside quotes ends the line: its apostrophes do not count).
fn ends_in_open_quote(line: &str) -> bool {
    let mut quote = None;
    let mut previous = ' ';
    let mut chars = line.chars();
    while let Some(c) = chars.next() {
        match quote {
            None if c == '\'' || c == '"' => quote = Some(c),
            None if c == '#' && previous.is_whitespace() => return false,
            None if c == '\\' => {
                chars.next();
            }
            Some('"') if c == '\\' => {
                chars.next();
            }
            Some(q) if c == q => quote = None,
            _ => {}
        }
        previous = c;
    }
    quote == Some('\'')
}

/// A shell word or an operator that ends a command.
#[derive(Debug, PartialEq)]
enum Token {
    Word(String),
    /// `|`, `||`, `&&`, `;`, `&`: the next command starts after it.
    Break,
    /// `>`, `>>`, `2>`, `<`, … : the next word is a file, not an argument.
    Redirect,
}

/// Splits a shell line into words (quotes removed, `\` escapes kept literal) and operators,
/// dropping a `#` comment. `$(…)` and `${…}` are kept as text inside their word.
fn tokenize(line: &str) -> Vec<Token> {
    let mut tokens = Vec::new();
    let mut word = String::new();
    let mut in_word = false;
    let mut chars = line.chars().peekable();
    let flush = |word: &mut String, in_word: &mut bool, tokens: &mut Vec<Token>| {
        if *in_word {
            tokens.push(Token::Word(std::mem::take(word)));
            *in_word = false;
        }
    };
    while let Some(c) = chars.next() {
        match c {
            '\'' => {
                in_word = true;
                for c in chars.by_ref() {
                    if c == '\'' {
                        break;
                    }
                    word.push(c);
                }
            }
            '"' => {
                in_word = true;
                while let Some(c) = chars.next() {
                    match c {
                        '"' => break,
                        '\\' => word.extend(chars.next()),
                        _ => word.push(c),
                    }
                }
            }
            '\\' => {
                in_word = true;
                word.extend(chars.next());
            }
            '#' if !in_word => break,
            ' ' | '\t' => flush(&mut word, &mut in_word, &mut tokens),
            '|' | '&' | ';' => {
                flush(&mut word, &mut in_word, &mut tokens);
                if chars.peek() == Some(&c) {
                    chars.next();
                } else if c == '&' && chars.peek() == Some(&'>') {
                    chars.next();
                    tokens.push(Token::Redirect);
                    continue;
                }
                tokens.push(Token::Break);
            }
            '>' | '<' => {
                // `2>` and `2>&1`: a lone digit before the arrow belongs to it.
                if in_word && (word == "1" || word == "2") {
                    word.clear();
                    in_word = false;
                }
                flush(&mut word, &mut in_word, &mut tokens);
                if chars.peek() == Some(&c) {
                    chars.next();
                }
                if chars.peek() == Some(&'&') {
                    // `>&2`, `2>&1`: a descriptor, not a file.
                    chars.next();
                    while chars.peek().is_some_and(|d| d.is_ascii_digit()) {
                        chars.next();
                    }
                    continue;
                }
                tokens.push(Token::Redirect);
            }
            _ => {
                in_word = true;
                word.push(c);
            }
        }
    }
    flush(&mut word, &mut in_word, &mut tokens);
    tokens
}

/// The gruf commands of one shell line (`line` is its number, for messages).
fn commands_in(line: usize, text: &str, out: &mut Vec<DocCommand>) {
    let mut words: Vec<String> = Vec::new();
    let mut skip_next = false;
    let mut tokens = tokenize(text);
    tokens.push(Token::Break);
    for token in tokens {
        match token {
            Token::Word(w) if skip_next => {
                skip_next = false;
                let _ = w;
            }
            Token::Word(w) => words.push(w),
            Token::Redirect => skip_next = true,
            Token::Break => {
                command_of(line, std::mem::take(&mut words), out);
                skip_next = false;
            }
        }
    }
}

/// Keeps `words` if they are a gruf command (after shell keywords and `VAR=value`
/// assignments), and looks inside quoted arguments that are gruf commands themselves.
fn command_of(line: usize, words: Vec<String>, out: &mut Vec<DocCommand>) {
    let mut rest = words.as_slice();
    while let Some((first, tail)) = rest.split_first() {
        let keyword = matches!(
            first.as_str(),
            "do" | "then" | "else" | "time" | "exec" | "!"
        );
        let assignment = first.contains('=') && !first.starts_with('-') && !first.starts_with('=');
        if keyword || assignment {
            rest = tail;
        } else {
            break;
        }
    }
    let start = match rest {
        [first, ..] if first == "gruf" => Some(1),
        [cargo, run, ..] if cargo == "cargo" && run == "run" => {
            rest.iter().position(|w| w == "--").map(|i| i + 1)
        }
        _ => None,
    };
    if let Some(start) = start {
        let mut command = vec!["gruf".to_string()];
        command.extend(rest[start..].iter().cloned());
        out.push(DocCommand {
            line,
            words: command,
        });
    }
    // `parallel 'gruf train …'`, `sh -c 'gruf …'`: a quoted word holding a command.
    for word in rest.iter().skip(1) {
        if word.starts_with("gruf ") {
            commands_in(line, word, out);
        }
    }
}

/// Every gruf command in the fenced shell blocks of a markdown text.
fn extract(text: &str) -> Vec<DocCommand> {
    let mut out = Vec::new();
    for (line, text) in shell_lines(text) {
        commands_in(line, &text, &mut out);
    }
    out
}

/// Parses every command of `text` with the real CLI; one message per command that fails,
/// naming the file, the line, the command and clap's reason.
fn check(name: &str, text: &str) -> (usize, Vec<String>) {
    let commands = extract(text);
    let failures = commands
        .iter()
        .filter_map(|c| match Cli::try_parse_from(&c.words) {
            Ok(_) => None,
            Err(e)
                if matches!(
                    e.kind(),
                    clap::error::ErrorKind::DisplayHelp | clap::error::ErrorKind::DisplayVersion
                ) =>
            {
                None
            }
            Err(e) => Some(format!(
                "{name}:{}: `{}` does not parse:\n{}",
                c.line,
                c.words.join(" "),
                e.render()
            )),
        })
        .collect();
    (commands.len(), failures)
}

/// README.md, CONTRIBUTING.md and every docs/*.md.
fn documents() -> Vec<PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut files = vec![root.join("README.md"), root.join("CONTRIBUTING.md")];
    let mut docs: Vec<PathBuf> = std::fs::read_dir(root.join("docs"))
        .expect("docs/ exists")
        .map(|e| e.expect("a readable docs/ entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "md"))
        .collect();
    docs.sort();
    files.extend(docs);
    files
}

#[test]
fn every_gruf_command_in_the_docs_parses() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut total = 0;
    let mut failures = Vec::new();
    for path in documents() {
        let text = std::fs::read_to_string(&path)
            .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
        let name = path
            .strip_prefix(root)
            .unwrap_or(&path)
            .display()
            .to_string();
        let (n, mut f) = check(&name, &text);
        total += n;
        failures.append(&mut f);
    }
    // The docs hold dozens of commands: finding few means the extractor broke, not the docs.
    assert!(total >= 40, "found only {total} gruf commands in the docs");
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn a_misspelt_flag_in_a_doc_fails_with_file_line_and_reason() {
    let doc = "Train:\n\n```sh\ngruf train --csv data/btc-sample.csv --epochz 3\n```\n";
    let (n, failures) = check("docs/x.md", doc);
    assert_eq!(n, 1);
    assert_eq!(failures.len(), 1, "{failures:?}");
    assert!(failures[0].starts_with("docs/x.md:4: "), "{}", failures[0]);
    assert!(failures[0].contains("--epochz"), "{}", failures[0]);
    // And a correct one passes.
    let (_, ok) = check(
        "x.md",
        "```\ngruf train --csv data/btc-sample.csv --epochs 3\n```\n",
    );
    assert!(ok.is_empty(), "{ok:?}");
}

#[test]
fn the_extractor_reads_shell_as_a_reader_would() {
    let doc = r#"
Not code: gruf train --bogus

```sh
$ gruf predict --steps 7 --format csv | head -n 3   # the first rows
gruf train --csv a.csv \
  --epochs 2 \
  --seed 0 && gruf evaluate > out.txt 2>&1
mkdir -p x; cargo run --release -- plot --out "my plot.png"
ls shards/*.csv | parallel -j 2 'gruf train --csv {} --quiet > {/.}.txt'
for m in *.gruf; do gruf predict --model "$m" --format csv | tail -n +2; done
RAYON_NUM_THREADS=1 gruf sample --out - >s.csv
# gruf in a comment, isn't it
ls *.csv | parallel 'gruf train --csv {}
  --quiet'   # the model's file
```

```python
gruf = 1
```

```toml
gruf predict --bogus
```
"#;
    let got: Vec<(usize, String)> = extract(doc)
        .into_iter()
        .map(|c| (c.line, c.words.join(" ")))
        .collect();
    let want: Vec<(usize, String)> = vec![
        (5, "gruf predict --steps 7 --format csv"),
        (6, "gruf train --csv a.csv --epochs 2 --seed 0"),
        (6, "gruf evaluate"),
        (9, "gruf plot --out my plot.png"),
        (10, "gruf train --csv {} --quiet"),
        (11, "gruf predict --model $m --format csv"),
        (12, "gruf sample --out -"),
        (14, "gruf train --csv {} --quiet"),
    ]
    .into_iter()
    .map(|(l, s)| (l, s.to_string()))
    .collect();
    assert_eq!(got, want);
}
