package api

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"
)

// TestErasureRemovesPersonalDataAndKeepsTheLedger: DELETE /customers/{id} erases name, email
// and locale (and the first name copied on the advocate's codes); referrals and rewards stay,
// keyed by id only.
func TestErasureRemovesPersonalDataAndKeepsTheLedger(t *testing.T) {
	s := newStack(t)
	s.do("PUT", "/programs/p1", tieredProgram())
	if st, b := s.do("PUT", "/customers/c-17", map[string]any{"email": "zelda.quixote@example.org", "name": "Zelda Quixote", "locale": "ms", "purchaseCount": 2}); st != 201 {
		t.Fatalf("PUT customer: %d %v", st, b)
	}
	_, c := s.do("POST", "/programs/p1/codes", map[string]any{"customerId": "c-17"})
	code := c["code"].(string)

	// The public code check shows the first name only.
	st, pub := s.doAs("", "GET", "/codes/"+code, nil)
	if st != 200 || pub["advocateFirstName"] != "Zelda" {
		t.Fatalf("public check: %d %v", st, pub)
	}
	if raw, _ := json.Marshal(pub); strings.Contains(string(raw), "Quixote") || strings.Contains(string(raw), "@") || strings.Contains(string(raw), "c-17") {
		t.Fatalf("the public code check shows more than the first name: %s", raw)
	}

	if st, b := s.doAs("server", "POST", "/referrals", map[string]any{"code": code, "referee": map[string]any{"id": "r-9", "email": "yusuf.wren@example.net", "name": "Yusuf Wren", "locale": "th"}}); st != 201 {
		t.Fatalf("referral: %d %v", st, b)
	}
	if st, b := s.doAs("server", "POST", "/conversions", map[string]any{"eventId": "o-1", "refereeId": "r-9", "milestone": "purchase", "amount": map[string]any{"amount": 5000, "currency": "USD"}}); st != 201 || len(b["rewards"].([]any)) != 1 {
		t.Fatalf("conversion: %d %v", st, b)
	}
	_, rewardsBefore := s.do("GET", "/customers/c-17/rewards", nil)
	_, referralsBefore := s.do("GET", "/customers/c-17/referrals", nil)

	if st, b := s.doAs("server", "DELETE", "/customers/c-17", nil); st != 403 {
		t.Fatalf("erasure with a server key: %d %v, want 403", st, b)
	}
	for _, id := range []string{"c-17", "r-9"} {
		if st, b := s.do("DELETE", "/customers/"+id, nil); st != 204 || b != nil {
			t.Fatalf("erase %s: %d %v", id, st, b)
		}
	}
	if st, b := s.do("DELETE", "/customers/c-17", nil); st != 204 {
		t.Fatalf("erasing again: %d %v, want 204", st, b)
	}
	if st, b := s.do("DELETE", "/customers/nobody", nil); st != 404 || errCode(b) != "customer_not_found" {
		t.Fatalf("erase unknown: %d %v", st, b)
	}

	_, got := s.do("GET", "/customers/c-17", nil)
	if got["email"] != "" || got["name"] != "" || got["locale"] != "" || got["marketingOptOut"] != true || got["purchaseCount"] != float64(2) {
		t.Fatalf("erased customer: %v", got)
	}
	if _, pub := s.doAs("", "GET", "/codes/"+code, nil); pub["advocateFirstName"] != "" || pub["status"] != "active" {
		t.Fatalf("code after erasure: %v", pub)
	}
	_, rewardsAfter := s.do("GET", "/customers/c-17/rewards", nil)
	_, referralsAfter := s.do("GET", "/customers/c-17/referrals", nil)
	if !reflect.DeepEqual(rewardsBefore, rewardsAfter) || len(rewardsAfter["rewards"].([]any)) != 1 {
		t.Fatalf("the ledger changed:\nbefore %v\nafter  %v", rewardsBefore, rewardsAfter)
	}
	if !reflect.DeepEqual(referralsBefore, referralsAfter) {
		t.Fatalf("referrals changed:\nbefore %v\nafter  %v", referralsBefore, referralsAfter)
	}

	// Nothing personal is left anywhere in the table.
	dump, _ := json.Marshal(s.scan(t))
	for _, pii := range []string{"Zelda", "Quixote", "zelda.quixote", "Yusuf", "Wren", "yusuf.wren", "example.org", "example.net"} {
		if strings.Contains(string(dump), pii) {
			t.Errorf("the table still holds %q after erasure", pii)
		}
	}
}

// TestErasureBlanksTheFirstNameOnEveryCodeOfTheCustomer: one code per program, all found
// through the customer's advocate items.
func TestErasureBlanksTheFirstNameOnEveryCodeOfTheCustomer(t *testing.T) {
	s := newStack(t)
	s.do("PUT", "/customers/c-17", map[string]any{"email": "zelda.quixote@example.org", "name": "Zelda Quixote"})
	var codes []string
	for _, p := range []string{"p1", "p2", "p3"} {
		s.do("PUT", "/programs/"+p, tieredProgram())
		_, c := s.do("POST", "/programs/"+p+"/codes", map[string]any{"customerId": "c-17"})
		codes = append(codes, c["code"].(string))
	}
	if st, b := s.do("DELETE", "/customers/c-17", nil); st != 204 {
		t.Fatalf("erase: %d %v", st, b)
	}
	for _, code := range codes {
		if st, pub := s.doAs("", "GET", "/codes/"+code, nil); st != 200 || pub["advocateFirstName"] != "" {
			t.Errorf("code %s after erasure: %d %v", code, st, pub)
		}
	}
}
