package samtemplate

import (
	"crypto/rand"
	"encoding/json"
	"fmt"
	"strings"
	"time"
)

// ScheduleSource is a function's Schedule event (an EventBridge rule) or ScheduleV2 event
// (EventBridge Scheduler): what invokes the function on a timetable.
type ScheduleSource struct {
	Name       string // the event's name in the template, e.g. Every5Minutes
	Type       string // Schedule or ScheduleV2
	Expression string // rate(5 minutes), cron(0 12 * * ? *), at(...)
	Input      string // the event's Input: when set, the function gets it instead of the scheduled event
	RuleARN    string // the rule's (or schedule's) ARN, as the scheduled event names it
	Enabled    bool
}

// parseSchedule reads a Schedule or ScheduleV2 event of the function fn.
func (t *Resolved) parseSchedule(fn, name, typ string, ep map[string]any) *ScheduleSource {
	s := &ScheduleSource{Name: name, Type: typ, Enabled: true}
	exprKey, ruleKind := "Schedule", "rule"
	if typ == "ScheduleV2" {
		exprKey, ruleKind = "ScheduleExpression", "schedule/default"
	}
	s.Expression = t.str(ep[exprKey], fn+" "+name+" "+exprKey)
	if v, ok := ep["Input"]; ok {
		s.Input = t.str(v, fn+" "+name+" Input")
		if !json.Valid([]byte(s.Input)) {
			t.warnf("%s event %s: Input is not JSON; the function gets it as a JSON string", fn, name)
			b, _ := json.Marshal(s.Input)
			s.Input = string(b)
		}
	}
	if v, ok := ep["Enabled"]; ok {
		s.Enabled = scalarBool(v)
	}
	if v, ok := ep["State"]; ok {
		s.Enabled = strings.EqualFold(t.str(v, fn+" "+name+" State"), "ENABLED")
	}
	rule := LocalStackName + "-" + fn + name
	if v, ok := ep["Name"]; ok {
		if n := t.str(v, fn+" "+name+" Name"); n != "" {
			rule = n
		}
	}
	s.RuleARN = fmt.Sprintf("arn:aws:%s:%s:%s:%s/%s", map[bool]string{true: "scheduler", false: "events"}[typ == "ScheduleV2"],
		LocalRegion, LocalAccountID, ruleKind, rule)
	if s.Expression == "" {
		t.warnf("%s event %s: no %s; it never runs", fn, name, exprKey)
		s.Enabled = false
	}
	return s
}

// Payload is what the function receives for a run at t: the event's Input when it has one,
// else the event EventBridge sends for a rule ("Scheduled Event" from aws.events), or, for
// EventBridge Scheduler, an empty object.
func (s *ScheduleSource) Payload(t time.Time) []byte {
	switch {
	case s.Input != "":
		return []byte(s.Input)
	case s.Type == "ScheduleV2":
		return []byte("{}")
	}
	b, _ := json.Marshal(map[string]any{ // strings, a list and an empty object always encode
		"version":     "0",
		"id":          newUUID(),
		"detail-type": "Scheduled Event",
		"source":      "aws.events",
		"account":     LocalAccountID,
		"time":        t.UTC().Truncate(time.Second).Format(time.RFC3339),
		"region":      LocalRegion,
		"resources":   []string{s.RuleARN},
		"detail":      map[string]any{},
	})
	return b
}

// newUUID is a random (version 4) UUID, as EventBridge gives every event.
func newUUID() string {
	var b [16]byte
	_, _ = rand.Read(b[:]) // crypto/rand never fails on supported platforms
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:])
}
