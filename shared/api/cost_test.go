package api

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/referral/referrals/devkit/dynamotest"
	"github.com/referral/referrals/devkit/streamtest"
	"github.com/referral/referrals/shared/insights"
	"github.com/referral/referrals/shared/platform"
	"github.com/referral/referrals/shared/store"
)

// What a warm conversion costs (demo program, one advocate reward, the advocate's second
// conversion of the month), priced from the items it reads and writes as BenchmarkRoundTrips
// and docs/PERFORMANCE.md price them: 1 BatchGetItem (the referral, the absent event,
// eventually consistent: 1 RRU) and 1 TransactWriteItems of four items under 1 KB (event,
// reward, referral, standing: 2 WRU each) and four index writes: the reward in GSI5 and GSI4,
// and the standing's GSI2 key, which ranks the advocate on the month's leaderboard and moves
// with the count (a delete and a put: 2; the insights then write no leaderboard entry). The
// referral's index entries are not rewritten: neither GSI5 nor GSI4 projects what the
// conversion changes on it. A larger item, one more item or index entry, or one more read
// shows here before it shows on the bill.
func TestAWarmConversionCostsTwelveWriteUnitsAndOneReadUnit(t *testing.T) {
	e := newPerfEnv(t, dynamotest.Start(t))
	r := e.container("POST /conversions")
	_, code := e.advocate()
	a, b := e.referee(code), e.referee(code)
	e.call(r, "POST", "/conversions", conversionBody(e.id("order"), a))
	res := e.call(r, "POST", "/conversions", conversionBody(e.id("order"), b))
	if res.status != 201 {
		t.Fatalf("conversion: %d %s", res.status, res.body)
	}
	var table, index, read float64
	var items []string
	for _, q := range res.reqs {
		table += q.WRU
		index += q.GSIWRU
		read += q.RRU
		for _, it := range q.Items {
			items = append(items, fmt.Sprintf("%s %s %d B: %v (+%v on indexes)", q.Op, it.Type, it.Bytes, it.Units, it.GSI))
		}
	}
	if res.roundTrips != 2 || table != 8 || index != 4 || read != 1 {
		t.Errorf("a warm conversion made %v round trips, %v WRU on the table + %v on the indexes, %v RRU; want 2, 8 + 4, 1:\n%v",
			res.roundTrips, table, index, read, items)
	}
}

// TestAConversionAndItsReversalLeaveTheReferralsIndexEntriesAlone: a conversion and its
// reversal each update the referral (stage, reached milestones, version) and write it nowhere
// but in the table: GSI5 and GSI4 list referrals by their keys and project none of what these
// change. The advocate's referrals list, which reads the referrals from the table, shows each
// change at once.
func TestAConversionAndItsReversalLeaveTheReferralsIndexEntriesAlone(t *testing.T) {
	e := newPerfEnv(t, dynamotest.Start(t))
	r := e.container("POST /conversions")
	adv, code := e.advocate()
	ref := e.referee(code)
	order := e.id("order")
	steps := []struct {
		name, target string
		body         any
		status       int
		stage        string // the referral's stage listed afterwards
	}{
		{"conversion", "/conversions", conversionBody(order, ref), 201, `"stage":"purchase"`},
		{"reversal", "/conversions/" + order + "/reverse", map[string]any{"reason": "refund"}, 200, `"stage":""`},
	}
	for _, step := range steps {
		res := e.call(r, "POST", step.target, step.body)
		if res.status != step.status {
			t.Fatalf("%s: %d %s", step.name, res.status, res.body)
		}
		wrote := false
		for _, q := range res.reqs {
			for _, it := range q.Items {
				if it.Type != "referral" || q.Op == "BatchGetItem" || q.Op == "GetItem" {
					continue
				}
				wrote = true
				if it.GSI != 0 {
					t.Errorf("%s: %s of the referral wrote %v WRU on the indexes, want 0", step.name, q.Op, it.GSI)
				}
			}
		}
		if !wrote {
			t.Errorf("%s wrote no referral: the test no longer sees what it checks", step.name)
		}
		listed, _ := json.Marshal(e.must("GET", "/customers/"+adv+"/referrals", nil))
		if !strings.Contains(string(listed), step.stage) {
			t.Errorf("the advocate's referrals after the %s: %s; want %s", step.name, listed, step.stage)
		}
	}
}

// What the insights stream function writes for a batch of conversions, each of its own
// advocate (steady traffic): one ADD update of the month's stats and the shard's checkpoint,
// whatever the batch's size, and no read but the checkpoint's and, in a fresh container, the
// program's (then cached). The conversion ranks its
// advocate in its own transaction (the standing's GSI2 key, priced in the test above), so a
// leaderboard write per advocate here would be paid twice: it shows here first.
func TestTheInsightsWriteOnlyTheStatsAndTheCheckpointPerBatch(t *testing.T) {
	tbl := streamtest.Start(t)
	e := newPerfEnv(t, tbl.DB)
	tbl.SetClock(e.seed.clock)
	programs := &store.ProgramCache{Store: e.store, TTL: platform.ProgramCacheTTL}
	stats := &insights.Consumer{Store: e.store, Programs: programs, Log: quietLog}
	const n = 20
	referees := make([]string, n)
	for i := range referees {
		_, code := e.advocate()
		referees[i] = e.referee(code)
	}
	tbl.Take()
	for _, r := range referees {
		e.must("POST", "/conversions", conversionBody(e.id("order"), r))
	}
	records := tbl.Take()
	e.meter.take()
	size, patterns := streamMappingOf(t, "InsightsStreamFunction")
	batches, err := streamtest.Batches(records, size, patterns)
	if err != nil {
		t.Fatal(err)
	}
	if len(batches) != 1 {
		t.Fatalf("%d batches, want 1", len(batches))
	}
	resp, err := stats.Handle(context.Background(), streamtest.WindowEvent("shardId-cost", batches[0]))
	if err != nil || len(resp.BatchItemFailures) != 0 {
		t.Fatalf("insights: %v, %d failed", err, len(resp.BatchItemFailures))
	}
	var wru, rru float64
	var items []string
	for _, q := range e.meter.take() {
		wru += q.WRU + q.GSIWRU
		rru += q.RRU
		for _, it := range q.Items {
			items = append(items, fmt.Sprintf("%s %s %d B: %v (+%v on indexes)", q.Op, it.Type, it.Bytes, it.Units, it.GSI))
		}
	}
	if wru != 4 || rru != 2 {
		t.Errorf("the insights spent %v WRU and %v RRU on %d conversions; want 4 (the stats item and the checkpoint, transactional) and 2 (the checkpoint, the program):\n%v",
			wru, rru, n, items)
	}
}
