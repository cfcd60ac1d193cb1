package console

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Sessions: after sign-in the browser holds one cookie, signed with the console's session key
// (HMAC-SHA256): the hash of the admin key it signed in with, when it ends, and a random
// nonce. The key is decided again on every request (auth.Authorizer.DecideHash), so revoking
// it ends its sessions. The CSRF token of every form is an HMAC of the nonce: only a page
// of this session can post.

// SessionCookie is the session cookie's name.
const SessionCookie = "console_session"

// SessionTTL is how long a session lasts after sign-in.
const SessionTTL = 12 * time.Hour

// session is a verified session cookie.
type session struct {
	keyHash string
	expires time.Time
	nonce   string
}

// sessions signs and reads session cookies and their CSRF tokens.
type sessions struct {
	key []byte
}

func (s sessions) mac(parts ...string) string {
	m := hmac.New(sha256.New, s.key)
	m.Write([]byte(strings.Join(parts, "|")))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

// issue returns a new session for the key whose hash is keyHash and its cookie value.
func (s sessions) issue(keyHash string, now time.Time) (session, string, error) {
	var b [18]byte
	if _, err := rand.Read(b[:]); err != nil {
		return session{}, "", err
	}
	ss := session{keyHash: keyHash, expires: now.Add(SessionTTL).UTC().Truncate(time.Second), nonce: base64.RawURLEncoding.EncodeToString(b[:])}
	exp := strconv.FormatInt(ss.expires.Unix(), 10)
	return ss, strings.Join([]string{"v1", ss.keyHash, exp, ss.nonce, s.mac("session", ss.keyHash, exp, ss.nonce)}, "."), nil
}

// read verifies a cookie value: signed by this key, of this format, not expired.
func (s sessions) read(value string, now time.Time) (session, bool) {
	p := strings.Split(value, ".")
	if len(p) != 5 || p[0] != "v1" {
		return session{}, false
	}
	if !hmac.Equal([]byte(p[4]), []byte(s.mac("session", p[1], p[2], p[3]))) {
		return session{}, false
	}
	unix, err := strconv.ParseInt(p[2], 10, 64)
	if err != nil || !now.Before(time.Unix(unix, 0)) {
		return session{}, false
	}
	return session{keyHash: p[1], expires: time.Unix(unix, 0).UTC(), nonce: p[3]}, true
}

// csrf is the session's form token.
func (s sessions) csrf(ss session) string { return s.mac("csrf", ss.nonce) }

// validCSRF reports whether token is the session's form token.
func (s sessions) validCSRF(ss session, token string) bool {
	return token != "" && hmac.Equal([]byte(token), []byte(s.csrf(ss)))
}

// cookie is the Set-Cookie value of a session (value "" and maxAge < 0 clear it). Path
// /console: the cookie goes to the console's pages only; SameSite=Strict: never on a request
// another site starts; HttpOnly: no script reads it; Secure: HTTPS only.
func cookie(value string, maxAge int) string {
	c := &http.Cookie{Name: SessionCookie, Value: value, Path: "/console", MaxAge: maxAge,
		HttpOnly: true, Secure: true, SameSite: http.SameSiteStrictMode}
	return c.String()
}

// cookieValue is the session cookie's value in a request's Cookie headers (API Gateway
// payload 2.0 passes them in Cookies).
func cookieValue(cookies []string, header string) string {
	all := append([]string{}, cookies...)
	if header != "" {
		all = append(all, header)
	}
	for _, line := range all {
		cs, err := http.ParseCookie(line)
		if err != nil {
			continue
		}
		for _, c := range cs {
			if c.Name == SessionCookie {
				return c.Value
			}
		}
	}
	return ""
}
