//! mio tokens of the log pipes: `FIRST_PIPE + 2 * source + stream`.

use crate::logmux::Stream;
use mio::Token;

/// Pipe tokens start high, leaving the small numbers to the loop and to
/// other runtime parts (signals, the sinks' waker, a control socket).
const FIRST_PIPE: usize = 1 << 20;

pub fn pipe_token(source: usize, stream: Stream) -> Token {
    Token(FIRST_PIPE + 2 * source + stream_index(stream))
}

pub fn decode(token: Token) -> Option<(usize, Stream)> {
    let n = token.0.checked_sub(FIRST_PIPE)?;
    let stream = if n % 2 == 0 {
        Stream::Stdout
    } else {
        Stream::Stderr
    };
    Some((n / 2, stream))
}

pub fn stream_index(stream: Stream) -> usize {
    match stream {
        Stream::Stdout => 0,
        Stream::Stderr => 1,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_round_trip() {
        for id in [0, 1, 7, 1000] {
            for s in [Stream::Stdout, Stream::Stderr] {
                assert_eq!(decode(pipe_token(id, s)), Some((id, s)));
            }
        }
        assert_eq!(decode(super::super::LOG_WAKER), None);
    }
}
