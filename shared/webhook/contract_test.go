package webhook_test

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/pb33f/libopenapi"
	"github.com/pb33f/libopenapi-validator/schema_validation"
	"github.com/pb33f/libopenapi/datamodel/high/base"
	"github.com/referral/referrals/devkit/samtemplate"
	"github.com/referral/referrals/shared/referral"
)

// eventSchemas are the payload schemas of the `webhooks` section of docs/openapi.yaml, by event
// type: what receivers are told each event carries.
var eventSchemas = sync.OnceValues(func() (map[string]*base.Schema, error) {
	b, err := os.ReadFile(filepath.Join(filepath.Dir(samtemplate.Path()), "docs", "openapi.yaml"))
	if err != nil {
		return nil, err
	}
	doc, err := libopenapi.NewDocument(b)
	if err != nil {
		return nil, err
	}
	model, err := doc.BuildV3Model()
	if err != nil {
		return nil, err
	}
	out := map[string]*base.Schema{}
	for t, item := range model.Model.Webhooks.FromOldest() {
		if item.Post == nil || item.Post.RequestBody == nil {
			return nil, fmt.Errorf("webhook %s has no POST body", t)
		}
		mt, ok := item.Post.RequestBody.Content.Get("application/json")
		if !ok {
			return nil, fmt.Errorf("webhook %s has no application/json body", t)
		}
		out[t] = mt.Schema.Schema()
	}
	return out, nil
})

// checkContract validates an event body against its schema in docs/openapi.yaml.
func checkContract(t *testing.T, eventType string, body []byte) {
	t.Helper()
	schemas, err := eventSchemas()
	if err != nil {
		t.Fatalf("docs/openapi.yaml webhooks: %v", err)
	}
	s, ok := schemas[eventType]
	if !ok {
		t.Fatalf("docs/openapi.yaml has no webhook %s", eventType)
	}
	if ok, errs := schema_validation.NewSchemaValidator().ValidateSchemaBytes(s, body); !ok {
		var b strings.Builder
		for _, e := range errs {
			fmt.Fprintf(&b, "  %s: %s\n", e.Message, e.Reason)
			for _, se := range e.SchemaValidationErrors {
				fmt.Fprintf(&b, "    %s (at %s)\n", se.Reason, se.FieldPath)
			}
		}
		t.Errorf("the %s payload breaks docs/openapi.yaml:\n%s%s", eventType, b.String(), body)
	}
}

func TestOpenAPIDescribesEveryEventType(t *testing.T) {
	schemas, err := eventSchemas()
	if err != nil {
		t.Fatal(err)
	}
	if len(schemas) != len(referral.WebhookEventTypes) {
		t.Errorf("docs/openapi.yaml describes %d webhooks, want %d", len(schemas), len(referral.WebhookEventTypes))
	}
	for _, typ := range referral.WebhookEventTypes {
		if _, ok := schemas[typ]; !ok {
			t.Errorf("docs/openapi.yaml does not describe the %s webhook", typ)
		}
	}
}
