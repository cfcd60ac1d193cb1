package receiver_test

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/referral/referrals/devkit/receiver"
	"github.com/referral/referrals/shared/webhook"
)

func post(t *testing.T, url, id, secret string, body []byte) int {
	t.Helper()
	h, err := webhook.Sign(id, time.Now(), body, secret)
	if err != nil {
		t.Fatal(err)
	}
	req, _ := http.NewRequest(http.MethodPost, url, bytes.NewReader(body))
	req.Header.Set("webhook-id", h.ID)
	req.Header.Set("webhook-timestamp", h.Timestamp)
	req.Header.Set("webhook-signature", h.Signature)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

func TestTheReceiverRecordsVerifiesAndFailsOnRequest(t *testing.T) {
	rc := &receiver.Receiver{}
	srv := httptest.NewServer(rc)
	defer srv.Close()
	secret, _ := webhook.NewSecret()
	other, _ := webhook.NewSecret()
	rc.AddSecret(secret)
	body := []byte(`{"type":"referral.created","timestamp":"2026-11-20T12:00:00Z","data":{"refereeId":"bo"}}`)

	var got []int
	for range 3 {
		got = append(got, post(t, srv.URL+"/hooks?fail=2&status=503", "msg_a", secret, body))
	}
	got = append(got, post(t, srv.URL+"/hooks", "msg_b", other, body))
	if want := []int{503, 503, 204, 204}; !slices.Equal(got, want) {
		t.Errorf("answers %v, want %v", got, want)
	}
	reqs := rc.Requests()
	if len(reqs) != 4 || reqs[2].Attempt != 3 || reqs[2].Verified != "valid" || reqs[2].Type != "referral.created" ||
		!strings.HasPrefix(reqs[3].Verified, "invalid") {
		t.Fatalf("requests %+v", reqs)
	}

	resp, err := http.Get(srv.URL + "/")
	if err != nil {
		t.Fatal(err)
	}
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !strings.Contains(string(page), "msg_a") || !strings.Contains(string(page), "answered 503") ||
		strings.Contains(string(page), "<script") || resp.Header.Get("Content-Security-Policy") == "" {
		t.Errorf("page:\n%s", page)
	}
	resp, err = http.Get(srv.URL + "/requests")
	if err != nil {
		t.Fatal(err)
	}
	var list struct {
		Requests []receiver.Request `json:"requests"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&list); err != nil || len(list.Requests) != 4 {
		t.Errorf("GET /requests: %v %v", err, list)
	}
	resp.Body.Close()
}
