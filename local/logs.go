package main

import (
	"bytes"
	"fmt"
	"io"
	"sync"
)

// logSink serializes whole lines from many processes onto one writer.
type logSink struct {
	mu sync.Mutex
	w  io.Writer
}

func (s *logSink) printf(prefix, format string, args ...any) {
	s.line(prefix, fmt.Sprintf(format, args...))
}

func (s *logSink) line(prefix, text string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if prefix == "" {
		fmt.Fprintln(s.w, text)
		return
	}
	fmt.Fprintf(s.w, "[%s] %s\n", prefix, text)
}

// writer returns an io.Writer that prints each complete line it receives with prefix.
func (s *logSink) writer(prefix string) *lineWriter {
	return &lineWriter{sink: s, prefix: prefix}
}

// lineWriter splits a byte stream into lines; Flush prints a trailing partial line.
type lineWriter struct {
	sink   *logSink
	prefix string
	mu     sync.Mutex
	buf    []byte
}

func (w *lineWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.buf = append(w.buf, p...)
	for {
		i := bytes.IndexByte(w.buf, '\n')
		if i < 0 {
			break
		}
		w.sink.line(w.prefix, string(bytes.TrimRight(w.buf[:i], "\r")))
		w.buf = w.buf[i+1:]
	}
	if len(w.buf) > 64<<10 { // a runaway line without newline
		w.sink.line(w.prefix, string(w.buf))
		w.buf = nil
	}
	return len(p), nil
}

// Flush prints what is left of an unterminated last line.
func (w *lineWriter) Flush() {
	w.mu.Lock()
	defer w.mu.Unlock()
	if len(w.buf) > 0 {
		w.sink.line(w.prefix, string(w.buf))
		w.buf = nil
	}
}
