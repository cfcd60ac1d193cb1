package main

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
)

// secretsServer answers Secrets Manager GetSecretValue and SSM GetParameter for the secrets
// and parameters of the template, so functions read them locally through the real SDK calls.
// Values come from the dev config, else the template, else are generated once and kept in
// the state directory, like the values CloudFormation generates on deploy.
type secretsServer struct {
	mu      sync.Mutex
	secrets map[string]*SecretDef
	values  map[string]string // by logical ID
	params  map[string]string // SSM parameter name → value
	created time.Time
}

func newSecretsServer(t *Template, configured map[string]string, storePath string, sink *logSink) *secretsServer {
	s := &secretsServer{secrets: t.Secrets, values: map[string]string{}, params: map[string]string{}, created: time.Now()}
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
			// The bootstrap admin key: the documented dev key, unless the dev config says otherwise.
			s.values[id] = DevAdminKey
			sink.printf("secrets", "%s holds the dev admin key %q", id, DevAdminKey)
		case stored[id] != "":
			s.values[id] = stored[id]
		default:
			s.values[id] = generateSecret(sd.Generate)
			stored[id] = s.values[id]
			changed = true
		}
	}
	if changed {
		b, _ := json.MarshalIndent(stored, "", "  ")
		_ = os.WriteFile(storePath, b, 0o600)
	}
	for _, id := range t.resourcesOfType("AWS::SSM::Parameter") {
		props := asMap(t.resources[id]["Properties"])
		name := t.str(props["Name"], "parameter "+id+" Name")
		if name == "" {
			name = id
		}
		s.params[name] = t.str(props["Value"], "parameter "+id+" Value")
	}
	return s
}

// generateSecret follows GenerateSecretString's main options.
func generateSecret(g map[string]any) string {
	length := scalarInt(g["PasswordLength"], 32)
	alphabet := "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
	if !scalarBool(g["ExcludePunctuation"]) {
		alphabet += "!#$%&()*+,-.:;<=>?[]^_{|}~"
	}
	for _, c := range scalarString(g["ExcludeCharacters"]) {
		alphabet = strings.ReplaceAll(alphabet, string(c), "")
	}
	b := make([]byte, length)
	for i := range b {
		n, _ := rand.Int(rand.Reader, big.NewInt(int64(len(alphabet))))
		b[i] = alphabet[n.Int64()]
	}
	value := string(b)
	if tmpl, key := scalarString(g["SecretStringTemplate"]), scalarString(g["GenerateStringKey"]); tmpl != "" && key != "" {
		m := map[string]any{}
		if json.Unmarshal([]byte(tmpl), &m) == nil {
			m[key] = value
			out, _ := json.Marshal(m)
			return string(out)
		}
	}
	return value
}

func (s *secretsServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
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
	case "AmazonSSM.GetParameter":
		var in struct{ Name string }
		_ = json.Unmarshal(body, &in)
		v, ok := s.params[in.Name]
		if !ok {
			fail("ParameterNotFound", "parameter "+in.Name+" not found")
			return
		}
		reply(http.StatusOK, map[string]any{"Parameter": map[string]any{
			"Name": in.Name, "Type": "String", "Value": v, "Version": 1,
			"ARN": "arn:aws:ssm:" + localRegion + ":" + localAccountID + ":parameter/" + strings.TrimPrefix(in.Name, "/"),
		}})
	default:
		fail("UnknownOperationException", "the dev stack does not emulate "+target)
	}
}

func (s *secretsServer) secret(id string) (*SecretDef, string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for lid, sd := range s.secrets {
		if id == sd.ARN || id == sd.Name || id == lid {
			return sd, s.values[lid], nil
		}
	}
	return nil, "", errors.New("not found")
}
