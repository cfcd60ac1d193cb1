// Package devlog is the local stack's console: whole lines from many processes and parts of
// the stack, each prefixed with where it came from ("[api] ...", "[EmailFunction] ...").
package devlog

import (
	"bytes"
	"fmt"
	"io"
	"strings"
	"sync"
)

// Sink serializes whole lines onto one writer.
type Sink struct {
	mu sync.Mutex
	w  io.Writer
}

// New returns a sink writing to w.
func New(w io.Writer) *Sink { return &Sink{w: w} }

// Printf prints one line with prefix.
func (s *Sink) Printf(prefix, format string, args ...any) {
	s.Line(prefix, fmt.Sprintf(format, args...))
}

// Line prints text as one line with prefix ("" prints it bare).
func (s *Sink) Line(prefix, text string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if prefix == "" {
		fmt.Fprintln(s.w, text)
		return
	}
	fmt.Fprintf(s.w, "[%s] %s\n", prefix, text)
}

// Writer returns an io.Writer that prints each complete line it receives with prefix.
func (s *Sink) Writer(prefix string) *LineWriter {
	return &LineWriter{sink: s, prefix: prefix}
}

// LineWriter splits a byte stream into lines; Flush prints a trailing partial line.
type LineWriter struct {
	sink   *Sink
	prefix string
	mu     sync.Mutex
	buf    []byte
}

func (w *LineWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.buf = append(w.buf, p...)
	for {
		i := bytes.IndexByte(w.buf, '\n')
		if i < 0 {
			break
		}
		w.sink.Line(w.prefix, string(bytes.TrimRight(w.buf[:i], "\r")))
		w.buf = w.buf[i+1:]
	}
	if len(w.buf) > 64<<10 { // a runaway line without newline
		w.sink.Line(w.prefix, string(w.buf))
		w.buf = nil
	}
	return len(p), nil
}

// Flush prints what is left of an unterminated last line.
func (w *LineWriter) Flush() {
	w.mu.Lock()
	defer w.mu.Unlock()
	if len(w.buf) > 0 {
		w.sink.Line(w.prefix, string(w.buf))
		w.buf = nil
	}
}

// Truncate shortens b to n bytes for a log line.
func Truncate(b []byte, n int) string {
	if len(b) > n {
		return string(b[:n]) + "…"
	}
	return string(b)
}

// Lines splits s at newlines.
func Lines(s string) []string { return strings.Split(s, "\n") }
