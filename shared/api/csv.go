package api

import (
	"bytes"
	"encoding/csv"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// Lists that a spreadsheet is for (reward queues, a program's referrals) answer CSV when the
// client asks for it with Accept: text/csv: RFC 4180 (CRLF line ends, fields with commas,
// quotes or line breaks quoted), UTF-8, a header row, the same filters and page size as the
// JSON. The next page's URL (the same query with its cursor) is in the Link header
// (rel="next", RFC 8288); the last page has none.

const csvMediaType = "text/csv"

// wantsCSV reports whether the request's Accept header prefers text/csv to application/json
// (by q-value; JSON wins ties and is the default).
func wantsCSV(req Request) bool {
	accept := req.Headers["accept"]
	if accept == "" {
		return false
	}
	q := map[string]float64{}
	for _, r := range strings.Split(accept, ",") {
		params := strings.Split(r, ";")
		mt := strings.ToLower(strings.TrimSpace(params[0]))
		weight := 1.0
		for _, p := range params[1:] {
			if k, v, ok := strings.Cut(strings.TrimSpace(p), "="); ok && strings.EqualFold(k, "q") {
				if f, err := strconv.ParseFloat(v, 64); err == nil {
					weight = f
				}
			}
		}
		if _, seen := q[mt]; !seen || weight > q[mt] {
			q[mt] = weight
		}
	}
	pick := func(exact, family string) float64 {
		for _, mt := range []string{exact, family, "*/*"} {
			if w, ok := q[mt]; ok {
				return w
			}
		}
		return 0
	}
	return pick(csvMediaType, "text/*") > pick("application/json", "application/*")
}

// csvCell is a value as a CSV cell, guarded against formula injection: a cell a spreadsheet
// would read as a formula (it starts with =, +, -, @, a tab or a carriage return) gets a
// leading apostrophe, so it is shown as the text it is.
func csvCell(s string) string {
	if s != "" && strings.ContainsRune("=+-@\t\r", rune(s[0])) {
		return "'" + s
	}
	return s
}

// csvTime is a time as a cell ("" for none), in the API's RFC 3339 UTC form.
func csvTime(t *time.Time) string {
	if t == nil || t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339)
}

// csvResponse is a CSV list: header, then rows (every cell guarded), with the next page's
// link when next is not nil. name is the file name offered for download.
func csvResponse(req Request, name string, header []string, rows [][]string, next *string) Response {
	var b bytes.Buffer
	w := csv.NewWriter(&b)
	w.UseCRLF = true
	_ = w.Write(header) // a bytes.Buffer does not fail
	for _, row := range rows {
		cells := make([]string, len(row))
		for i, c := range row {
			cells[i] = csvCell(c)
		}
		_ = w.Write(cells)
	}
	w.Flush()
	resp := Response{StatusCode: http.StatusOK, Body: b.String(), Headers: map[string]string{
		"Content-Type":        csvMediaType + "; charset=utf-8; header=present",
		"Content-Disposition": `attachment; filename="` + name + `"`,
		"Vary":                "Accept",
	}}
	if next != nil {
		q := url.Values{}
		for k, v := range req.QueryStringParameters {
			q.Set(k, v)
		}
		q.Set("cursor", *next)
		resp.Headers["Link"] = "<" + req.RawPath + "?" + q.Encode() + `>; rel="next"`
	}
	return resp
}

// listAnswer answers a page of a list: CSV when the client asks for it (a row per item, by
// row, under columns; name is the file name offered), else body as JSON.
func listAnswer[T any](req Request, items []T, next *string, body any, name string, columns []string, row func(T) []string) Response {
	if wantsCSV(req) {
		rows := make([][]string, len(items))
		for i, it := range items {
			rows[i] = row(it)
		}
		return csvResponse(req, name, columns, rows, next)
	}
	resp := JSON(http.StatusOK, body)
	resp.Headers["Vary"] = "Accept"
	return resp
}
