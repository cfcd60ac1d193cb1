// Package secrets answers Secrets Manager's GetSecretValue for the secrets of the template, so
// the functions read them locally through the real SDK call.
package secrets

import (
	"crypto/rand"
	"encoding/json"
	"errors"
	"io"
	"math/big"
	"net/http"
	"os"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/referral/referrals/devkit/devlog"
	"github.com/referral/referrals/devkit/samtemplate"
)

// Server answers Secrets Manager GetSecretValue for the secrets of the template. Values come
// from the dev config, else the template, else are generated once and kept in the state
// directory, like the values CloudFormation generates on deploy.
type Server struct {
	mu      sync.Mutex
	secrets map[string]*samtemplate.SecretDef
	values  map[string]string // by logical ID
	created time.Time
}

// AdminSecretValue is what a secret whose logical ID mentions "Admin" holds locally, unless
// the dev config says otherwise: the documented dev admin key.
const AdminSecretValue = "dev-admin-key"

// New serves the template's secrets; configured values (by logical ID) win, generated ones are
// kept in storePath.
func New(t *samtemplate.Resolved, configured map[string]string, storePath string, sink *devlog.Sink) *Server {
	s := &Server{secrets: t.Secrets, values: map[string]string{}, created: time.Now()}
	stored := map[string]string{}
	if b, err := os.ReadFile(storePath); err == nil {
		_ = json.Unmarshal(b, &stored)
	}
	ids := make([]string, 0, len(t.Secrets))
	for id := range t.Secrets {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	changed := false
	for _, id := range ids {
		sd := t.Secrets[id]
		switch v, ok := configured[id]; {
		case ok:
			s.values[id] = v
		case sd.Value != "":
			s.values[id] = sd.Value
		case strings.Contains(strings.ToLower(id), "admin"):
			s.values[id] = AdminSecretValue
			sink.Printf("secrets", "%s holds the dev admin key %q", id, AdminSecretValue)
		case stored[id] != "":
			s.values[id] = stored[id]
		default:
			s.values[id] = Generate(sd.Generate)
			stored[id] = s.values[id]
			changed = true
		}
	}
	if changed {
		b, _ := json.MarshalIndent(stored, "", "  ")
		_ = os.WriteFile(storePath, b, 0o600)
	}
	return s
}

// Generate follows GenerateSecretString's main options.
func Generate(g map[string]any) string {
	length := 32
	if n, ok := g["PasswordLength"].(int64); ok && n > 0 {
		length = int(n)
	} else if n, ok := g["PasswordLength"].(int); ok && n > 0 {
		length = n
	}
	alphabet := "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
	if b, _ := g["ExcludePunctuation"].(bool); !b {
		alphabet += "!#$%&()*+,-.:;<=>?[]^_{|}~"
	}
	exclude, _ := g["ExcludeCharacters"].(string)
	for _, c := range exclude {
		alphabet = strings.ReplaceAll(alphabet, string(c), "")
	}
	b := make([]byte, length)
	for i := range b {
		n, _ := rand.Int(rand.Reader, big.NewInt(int64(len(alphabet))))
		b[i] = alphabet[n.Int64()]
	}
	value := string(b)
	tmpl, _ := g["SecretStringTemplate"].(string)
	if key, _ := g["GenerateStringKey"].(string); tmpl != "" && key != "" {
		m := map[string]any{}
		if json.Unmarshal([]byte(tmpl), &m) == nil {
			m[key] = value
			out, _ := json.Marshal(m)
			return string(out)
		}
	}
	return value
}

func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	target := r.Header.Get("X-Amz-Target")
	reply := func(status int, v any) {
		w.Header().Set("Content-Type", "application/x-amz-json-1.1")
		w.WriteHeader(status)
		_ = json.NewEncoder(w).Encode(v)
	}
	fail := func(typ, msg string) {
		reply(http.StatusBadRequest, map[string]string{"__type": typ, "message": msg})
	}
	switch target {
	case "secretsmanager.GetSecretValue":
		var in struct{ SecretId string }
		_ = json.Unmarshal(body, &in)
		sd, value, err := s.secret(in.SecretId)
		if err != nil {
			fail("ResourceNotFoundException", "Secrets Manager can't find the specified secret.")
			return
		}
		reply(http.StatusOK, map[string]any{
			"ARN": sd.ARN, "Name": sd.Name, "SecretString": value, "VersionId": "local",
			"VersionStages": []string{"AWSCURRENT"}, "CreatedDate": float64(s.created.Unix()),
		})
	default:
		fail("UnknownOperationException", "the dev stack does not emulate "+target)
	}
}

func (s *Server) secret(id string) (*samtemplate.SecretDef, string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for lid, sd := range s.secrets {
		if id == sd.ARN || id == sd.Name || id == lid {
			return sd, s.values[lid], nil
		}
	}
	return nil, "", errors.New("not found")
}

// Value is the value served for the secret with the logical ID id.
func (s *Server) Value(id string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.values[id]
}
