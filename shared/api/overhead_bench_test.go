package api

import (
	"bytes"
	"compress/flate"
	"context"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"math/big"
	"sort"
	"strconv"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/referral/referrals/devkit/dynamotest"
	"github.com/referral/referrals/shared/metrics"
	"github.com/referral/referrals/shared/store"
)

// BenchmarkHandlerOverhead runs each operation through its handler (a warm container: JSON
// decoding, validation, the store, the engine, the response) and, alternately in the same
// loop against the same minidyn server, the same DynamoDB requests written by hand with the
// SDK: the floor any implementation on this table pays. Both use the production client (with
// the metrics middleware). It reports handler-ns/op, raw-ns/op and their ratio: how much our
// code adds to the round trips it cannot avoid. minidyn answers in-process in well under a
// millisecond for a read, but copies its whole table for every TransactWriteItems (its
// rollback), which dwarfs everything else in a write; DynamoDB takes several milliseconds
// per round trip, so in AWS the ratio is closer to 1 than here for reads.
func BenchmarkHandlerOverhead(b *testing.B) {
	for _, c := range overheadCases() {
		b.Run(c.name, func(b *testing.B) {
			// A server per operation: minidyn copies the whole table for every transaction, so
			// a table grown by the other cases would only add noise.
			db := dynamotest.Start(b)
			e := newPerfEnv(b, db)
			raw := countedClient(db.URL)
			plain := store.New(raw, db.Table, e.seed.clock)
			r := &rawCalls{db: raw, table: db.Table, now: e.seed.clock}
			run := c.setup(e, plain, r, b.N)
			handlerNs, rawNs := make([]float64, 0, b.N), make([]float64, 0, b.N)
			timed := func(f func(int) error, i int, into *[]float64) {
				start := time.Now()
				if err := f(i); err != nil {
					b.Fatalf("%s #%d: %v", c.name, i, err)
				}
				*into = append(*into, float64(time.Since(start).Nanoseconds()))
			}
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				// Alternate which goes first, so neither always finds the server warmer.
				if i%2 == 0 {
					timed(run.handler, i, &handlerNs)
					timed(run.raw, i, &rawNs)
				} else {
					timed(run.raw, i, &rawNs)
					timed(run.handler, i, &handlerNs)
				}
			}
			b.StopTimer()
			h, w := median(handlerNs), median(rawNs)
			b.ReportMetric(h, "handler-ns/op")
			b.ReportMetric(w, "raw-ns/op")
			b.ReportMetric(h/w, "ratio")
			writeRecord(b, "HandlerOverhead", c.name, map[string]any{
				"operation": c.name, "handlerNs": h, "rawNs": w, "ratio": h / w,
				"handlerMeanNs": mean(handlerNs), "rawMeanNs": mean(rawNs), "iterations": b.N, "calls": c.calls,
			})
		})
	}
}

func median(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := append([]float64(nil), xs...)
	sort.Float64s(s)
	return s[len(s)/2]
}

func mean(xs []float64) float64 {
	t := 0.0
	for _, x := range xs {
		t += x
	}
	return t / float64(max(len(xs), 1))
}

// overheadRun is n prepared iterations of one operation, both ways.
type overheadRun struct {
	handler func(i int) error
	raw     func(i int) error
}

type overheadCase struct {
	name  string
	calls string // the DynamoDB requests both sides make
	setup func(e *perfEnv, plain *store.Store, r *rawCalls, n int) overheadRun
}

// handlerCall sends one request to a warm router with fresh invocation counters and checks
// the status.
func handlerCall(e *perfEnv, rt *Router, method, target string, body any, want int) error {
	j, _ := json.Marshal(body)
	if body == nil {
		j = nil
	}
	key, params := e.seed.match(method, pathOf(target))
	ctx, _ := metrics.With(context.Background())
	resp, err := rt.Handle(ctx, event(key, params, method, target, string(j), "admin"))
	if err != nil {
		return err
	}
	if resp.StatusCode != want {
		return fmt.Errorf("%s %s: %d %s", method, target, resp.StatusCode, resp.Body)
	}
	return nil
}

func pathOf(target string) string {
	for i, c := range target {
		if c == '?' {
			return target[:i]
		}
	}
	return target
}

// warm returns a router over plain for routeKey that has served one request already.
func warmRouter(e *perfEnv, plain *store.Store, routeKey string, prime func(*Router)) *Router {
	saved := e.store
	e.store = plain
	rt := e.container(routeKey)
	e.store = saved
	prime(rt)
	return rt
}

func overheadCases() []overheadCase {
	return []overheadCase{
		{name: "conversion", calls: "BatchGetItem + TransactWriteItems (event, reward, referral, standing)",
			setup: func(e *perfEnv, plain *store.Store, r *rawCalls, n int) overheadRun {
				_, hCode := e.advocate()
				rt := warmRouter(e, plain, "POST /conversions", func(rt *Router) {
					_ = handlerCall(e, rt, "POST", "/conversions", conversionBody(e.id("order"), e.referee(hCode)), 201)
				})
				rawAdv, rawCode := e.advocate()
				e.must("POST", "/conversions", conversionBody(e.id("order"), e.referee(rawCode)))
				st := r.standing(rawAdv)
				hRefs, rRefs := make([]string, n), make([]string, n)
				for i := range n {
					hRefs[i], rRefs[i] = e.referee(hCode), e.referee(rawCode)
				}
				return overheadRun{
					handler: func(i int) error {
						return handlerCall(e, rt, "POST", "/conversions", conversionBody(fmt.Sprintf("oh-h-%d-%s", i, hRefs[i]), hRefs[i]), 201)
					},
					raw: func(i int) error { return r.conversion(st, fmt.Sprintf("oh-r-%d-%s", i, rRefs[i]), rRefs[i]) },
				}
			}},
		{name: "referral", calls: "GetItem (code) + BatchGetItem + TransactWriteItems (referral, code uses, referee)",
			setup: func(e *perfEnv, plain *store.Store, r *rawCalls, n int) overheadRun {
				_, hCode := e.advocate()
				rt := warmRouter(e, plain, "POST /referrals", func(rt *Router) {
					_ = handlerCall(e, rt, "POST", "/referrals", referralBody(hCode, e.id("ref")), 201)
				})
				_, rCode := e.advocate()
				hIDs, rIDs := make([]string, n), make([]string, n)
				for i := range n {
					hIDs[i], rIDs[i] = e.id("ohr"), e.id("ohr")
				}
				return overheadRun{
					handler: func(i int) error {
						return handlerCall(e, rt, "POST", "/referrals", referralBody(hCode, hIDs[i]), 201)
					},
					raw: func(i int) error { return r.referral(rCode, rIDs[i]) },
				}
			}},
		{name: "create a code", calls: "BatchGetItem (customer, standing) + TransactWriteItems (code, standing)",
			setup: func(e *perfEnv, plain *store.Store, r *rawCalls, n int) overheadRun {
				rt := warmRouter(e, plain, "POST /programs/{programId}/codes", func(rt *Router) { e.primeCodes(rt) })
				hIDs, rIDs := make([]string, n), make([]string, n)
				for i := range n {
					hIDs[i], rIDs[i] = e.id("ohc"), e.id("ohc")
					e.must("PUT", "/customers/"+hIDs[i], customerBody(hIDs[i], 1))
					e.must("PUT", "/customers/"+rIDs[i], customerBody(rIDs[i], 1))
				}
				return overheadRun{
					handler: func(i int) error {
						return handlerCall(e, rt, "POST", "/programs/demo/codes", map[string]any{"customerId": hIDs[i]}, 201)
					},
					raw: func(i int) error { return r.createCode(rIDs[i]) },
				}
			}},
		{name: "public code check", calls: "GetItem (code)",
			setup: func(e *perfEnv, plain *store.Store, r *rawCalls, n int) overheadRun {
				_, code := e.advocate()
				rt := warmRouter(e, plain, "GET /codes/{code}", func(rt *Router) { _ = handlerCall(e, rt, "GET", "/codes/"+code, nil, 200) })
				return overheadRun{
					handler: func(int) error { return handlerCall(e, rt, "GET", "/codes/"+code, nil, 200) },
					raw:     func(int) error { return r.getItem("CODE#"+code, "CODE", false) },
				}
			}},
		{name: "get a customer", calls: "GetItem (customer)",
			setup: func(e *perfEnv, plain *store.Store, r *rawCalls, n int) overheadRun {
				id, _ := e.advocate()
				rt := warmRouter(e, plain, "GET /customers/{customerId}", func(rt *Router) {
					_ = handlerCall(e, rt, "GET", "/customers/"+id, nil, 200)
				})
				return overheadRun{
					handler: func(int) error { return handlerCall(e, rt, "GET", "/customers/"+id, nil, 200) },
					raw:     func(int) error { return r.getItem("CUSTOMER#"+id, "CUSTOMER", true) },
				}
			}},
		{name: "list rewards (10)", calls: "Query GSI5 (keys) + BatchGetItem (rewards)",
			setup: func(e *perfEnv, plain *store.Store, r *rawCalls, n int) overheadRun {
				id, _ := e.advocateWithConversions(10)
				rt := warmRouter(e, plain, "GET /customers/{customerId}/rewards", func(rt *Router) {
					_ = handlerCall(e, rt, "GET", "/customers/"+id+"/rewards", nil, 200)
				})
				return overheadRun{
					handler: func(int) error { return handlerCall(e, rt, "GET", "/customers/"+id+"/rewards", nil, 200) },
					raw:     func(int) error { return r.queryThroughGSI5("REWARDS#" + id) },
				}
			}},
	}
}

// rawCalls are the requests of each operation written by hand with the SDK and hand-written
// expressions: the same items, keys, conditions and consistency as the store's, and nothing
// else (no decoding beyond the numbers the next request needs, no engine, no response).
type rawCalls struct {
	db    *dynamodb.Client
	table string
	now   func() time.Time
}

func avS(v string) types.AttributeValue { return &types.AttributeValueMemberS{Value: v} }
func avN(v int64) types.AttributeValue {
	return &types.AttributeValueMemberN{Value: strconv.FormatInt(v, 10)}
}
func avB(v bool) types.AttributeValue { return &types.AttributeValueMemberBOOL{Value: v} }
func avNull() types.AttributeValue    { return &types.AttributeValueMemberNULL{Value: true} }
func avM(m map[string]types.AttributeValue) types.AttributeValue {
	return &types.AttributeValueMemberM{Value: m}
}

func rawKey(pk, sk string) map[string]types.AttributeValue {
	return map[string]types.AttributeValue{"PK": avS(pk), "SK": avS(sk)}
}

func rawStamp(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000000Z") }

func (r *rawCalls) ctx() context.Context {
	ctx, _ := metrics.With(context.Background())
	return ctx
}

func (r *rawCalls) getItem(pk, sk string, consistent bool) error {
	res, err := r.db.GetItem(r.ctx(), &dynamodb.GetItemInput{TableName: aws.String(r.table), Key: rawKey(pk, sk), ConsistentRead: aws.Bool(consistent)})
	if err == nil && res.Item == nil {
		err = fmt.Errorf("%s/%s not found", pk, sk)
	}
	return err
}

// queryThroughGSI5 lists the keys of GSI5's partition pk (the index holds keys only), then
// reads the items with one eventually consistent BatchGetItem (up to 100 keys).
func (r *rawCalls) queryThroughGSI5(pk string) error {
	res, err := r.db.Query(r.ctx(), &dynamodb.QueryInput{TableName: aws.String(r.table), IndexName: aws.String("GSI5"),
		KeyConditionExpression:    aws.String("#pk = :pk"),
		ExpressionAttributeNames:  map[string]string{"#pk": "GSI1PK"},
		ExpressionAttributeValues: map[string]types.AttributeValue{":pk": avS(pk)}})
	if err != nil {
		return err
	}
	if len(res.Items) == 0 || len(res.Items) > 100 {
		return fmt.Errorf("%d items under %s", len(res.Items), pk)
	}
	keys := make([]map[string]types.AttributeValue, len(res.Items))
	for i, it := range res.Items {
		keys[i] = map[string]types.AttributeValue{"PK": it["PK"], "SK": it["SK"]}
	}
	got, err := r.db.BatchGetItem(r.ctx(), &dynamodb.BatchGetItemInput{RequestItems: map[string]types.KeysAndAttributes{
		r.table: {Keys: keys}}})
	if err == nil && len(got.Responses[r.table]) != len(keys) {
		err = fmt.Errorf("read %d of the %d items under %s", len(got.Responses[r.table]), len(keys), pk)
	}
	return err
}

func (r *rawCalls) batchGet(keys ...map[string]types.AttributeValue) (map[string]map[string]types.AttributeValue, error) {
	res, err := r.db.BatchGetItem(r.ctx(), &dynamodb.BatchGetItemInput{RequestItems: map[string]types.KeysAndAttributes{
		r.table: {Keys: keys, ConsistentRead: aws.Bool(true)}}})
	if err != nil {
		return nil, err
	}
	out := map[string]map[string]types.AttributeValue{}
	for _, it := range res.Responses[r.table] {
		out[it["PK"].(*types.AttributeValueMemberS).Value+"|"+it["SK"].(*types.AttributeValueMemberS).Value] = it
	}
	return out, nil
}

func (r *rawCalls) transact(items ...types.TransactWriteItem) error {
	_, err := r.db.TransactWriteItems(r.ctx(), &dynamodb.TransactWriteItemsInput{TransactItems: items})
	return err
}

func (r *rawCalls) putNew(item map[string]types.AttributeValue) types.TransactWriteItem {
	return types.TransactWriteItem{Put: &types.Put{TableName: aws.String(r.table), Item: item, ConditionExpression: aws.String("attribute_not_exists(PK)")}}
}

func numberOf(it map[string]types.AttributeValue, name string) int64 {
	n, _ := it[name].(*types.AttributeValueMemberN)
	if n == nil {
		return 0
	}
	v, _ := strconv.ParseInt(n.Value, 10, 64)
	return v
}

// rawStanding is the advocate's standing a warm raw "container" remembers, as the store's does.
type rawStanding struct {
	advocate         string
	purchases        int64
	rewardCount      int64
	rewardAmount     int64
	conversionsOnDay int64
	version          int64
}

func (r *rawCalls) standing(advocate string) *rawStanding {
	res, err := r.db.GetItem(context.Background(), &dynamodb.GetItemInput{TableName: aws.String(r.table),
		Key: rawKey("CUSTOMER#"+advocate, "ADVOCATE#demo"), ConsistentRead: aws.Bool(true)})
	if err != nil || res.Item == nil {
		panic(fmt.Sprintf("standing of %s: %v", advocate, err))
	}
	counts, _ := res.Item["counts"].(*types.AttributeValueMemberM)
	st := &rawStanding{advocate: advocate, rewardCount: numberOf(res.Item, "rewardCount"), rewardAmount: numberOf(res.Item, "rewardAmount"),
		conversionsOnDay: numberOf(res.Item, "conversionsOnDay"), version: numberOf(res.Item, "version")}
	if counts != nil {
		st.purchases = numberOf(counts.Value, "purchase")
	}
	return st
}

// conversion is POST /conversions for a referee of st's advocate, by hand.
func (r *rawCalls) conversion(st *rawStanding, eventID, referee string) error {
	now := r.now()
	got, err := r.batchGet(rawKey("EVENT#"+eventID, "EVENT"), rawKey("CUSTOMER#"+referee, "REFERRAL#demo"))
	if err != nil {
		return err
	}
	ref, ok := got["CUSTOMER#"+referee+"|REFERRAL#demo"]
	if !ok {
		return fmt.Errorf("referral of %s not found", referee)
	}
	refVersion := numberOf(ref, "version")
	amount := int64(2500)
	if st.purchases < 5 {
		amount = 1000
	}
	rewardID := randomID(now)
	reward := map[string]types.AttributeValue{
		"PK": avS("REWARD#" + rewardID), "SK": avS("REWARD"), "GSI1PK": avS("REWARDS#" + st.advocate),
		"GSI1SK": avS(rawStamp(now) + "#" + rewardID), "type": avS("reward"), "rewardId": avS(rewardID),
		"programId": avS("demo"), "customerId": avS(st.advocate), "role": avS("advocate"), "refereeId": avS(referee),
		"eventId": avS(eventID), "milestone": avS("purchase"), "rule": avS("tiered"), "kind": avS("gift_card"),
		"value":       avM(map[string]types.AttributeValue{"amount": avN(amount), "currency": avS("USD")}),
		"description": avS(""), "status": avS("pending"), "createdAt": avS(now.Format(time.RFC3339Nano)),
		"availableAt": avS(now.AddDate(0, 0, 14).Format(time.RFC3339Nano)), "expiresAt": avS(now.AddDate(0, 0, 365).Format(time.RFC3339Nano)),
	}
	result, _ := json.Marshal(map[string]any{
		"conversion": map[string]any{"eventId": eventID, "programId": "demo", "refereeId": referee, "advocateId": st.advocate,
			"milestone": "purchase", "amount": map[string]any{"amount": 5000, "currency": "USD"}, "occurredAt": now,
			"decisions": []any{
				map[string]any{"side": "advocate", "rule": 0, "type": "tiered", "outcome": "rewarded", "reason": fmt.Sprintf("tier 1 (referral %d of 5): 1000 USD", st.purchases+1), "rewardId": rewardID},
				map[string]any{"side": "advocate", "rule": 1, "type": "threshold", "outcome": "skipped", "reason": fmt.Sprintf("threshold not reached: %d of 10 referrals", st.purchases+1)},
				map[string]any{"side": "referee", "rule": 0, "type": "fixed", "outcome": "skipped", "reason": `rule is for milestone "signup"`},
			}},
		"rewards": []any{map[string]any{"rewardId": rewardID, "programId": "demo", "customerId": st.advocate, "role": "advocate",
			"refereeId": referee, "eventId": eventID, "milestone": "purchase", "rule": "tiered", "kind": "gift_card",
			"value": map[string]any{"amount": amount, "currency": "USD"}, "description": "", "status": "pending",
			"createdAt": now, "availableAt": now.AddDate(0, 0, 14), "expiresAt": now.AddDate(0, 0, 365)}},
	})
	ev := map[string]types.AttributeValue{
		"PK": avS("EVENT#" + eventID), "SK": avS("EVENT"), "type": avS("event"), "eventId": avS(eventID),
		"programId": avS("demo"), "refereeId": avS(referee), "advocateId": avS(st.advocate), "milestone": avS("purchase"),
		"amount": avM(map[string]types.AttributeValue{"amount": avN(5000), "currency": avS("USD")}), "counted": avB(true),
		"payloadHash": avS(fmt.Sprintf("%064x", now.UnixNano())), "result": &types.AttributeValueMemberB{Value: deflate(result)},
		"reversed": avB(false), "reversedAt": avNull(), "createdAt": avS(now.Format(time.RFC3339Nano)),
	}
	day := now.Format(time.DateOnly)
	err = r.transact(r.putNew(ev), r.putNew(reward),
		types.TransactWriteItem{Update: &types.Update{TableName: aws.String(r.table), Key: rawKey("CUSTOMER#"+referee, "REFERRAL#demo"),
			UpdateExpression:         aws.String("SET #reached = :reached, #stage = :stage, #version = :next"),
			ConditionExpression:      aws.String("#version = :version"),
			ExpressionAttributeNames: map[string]string{"#reached": "reached", "#stage": "stage", "#version": "version"},
			ExpressionAttributeValues: map[string]types.AttributeValue{":reached": &types.AttributeValueMemberL{Value: []types.AttributeValue{avS("purchase")}},
				":stage": avS("purchase"), ":next": avN(refVersion + 1), ":version": avN(refVersion)}}},
		types.TransactWriteItem{Update: &types.Update{TableName: aws.String(r.table), Key: rawKey("CUSTOMER#"+st.advocate, "ADVOCATE#demo"),
			UpdateExpression:         aws.String("SET #counts = :counts, #rc = :rc, #ra = :ra, #day = :day, #cod = :cod, #version = :next"),
			ConditionExpression:      aws.String("#version = :version"),
			ExpressionAttributeNames: map[string]string{"#counts": "counts", "#rc": "rewardCount", "#ra": "rewardAmount", "#day": "day", "#cod": "conversionsOnDay", "#version": "version"},
			ExpressionAttributeValues: map[string]types.AttributeValue{
				":counts": avM(map[string]types.AttributeValue{"purchase": avN(st.purchases + 1)}), ":rc": avN(st.rewardCount + 1),
				":ra": avN(st.rewardAmount + amount), ":day": avS(day), ":cod": avN(st.conversionsOnDay + 1),
				":next": avN(st.version + 1), ":version": avN(st.version)}}})
	if err != nil {
		return err
	}
	st.purchases, st.rewardCount, st.rewardAmount, st.conversionsOnDay, st.version = st.purchases+1, st.rewardCount+1, st.rewardAmount+amount, st.conversionsOnDay+1, st.version+1
	return nil
}

// referral is POST /referrals for a new referee of code, by hand.
func (r *rawCalls) referral(code, referee string) error {
	now := r.now()
	res, err := r.db.GetItem(r.ctx(), &dynamodb.GetItemInput{TableName: aws.String(r.table), Key: rawKey("CODE#"+code, "CODE"), ConsistentRead: aws.Bool(true)})
	if err != nil {
		return err
	}
	if res.Item == nil {
		return fmt.Errorf("code %s not found", code)
	}
	advocate := res.Item["customerId"].(*types.AttributeValueMemberS).Value
	got, err := r.batchGet(rawKey("CUSTOMER#"+advocate, "CUSTOMER"), rawKey("CUSTOMER#"+referee, "CUSTOMER"), rawKey("CUSTOMER#"+referee, "REFERRAL#demo"))
	if err != nil {
		return err
	}
	if _, ok := got["CUSTOMER#"+referee+"|REFERRAL#demo"]; ok {
		return fmt.Errorf("%s already referred", referee)
	}
	id := randomID(now)
	item := map[string]types.AttributeValue{
		"PK": avS("CUSTOMER#" + referee), "SK": avS("REFERRAL#demo"), "GSI1PK": avS("REFERRALS#" + advocate),
		"GSI1SK": avS(rawStamp(now) + "#demo#" + referee), "type": avS("referral"), "referralId": avS(id),
		"programId": avS("demo"), "code": avS(code), "advocateId": avS(advocate), "refereeId": avS(referee),
		"channel": avS("email"), "stage": avS(""), "createdAt": avS(now.Format(time.RFC3339Nano)),
		"attributionExpiresAt": avS(now.AddDate(0, 0, 60).Format(time.RFC3339Nano)), "version": avN(0),
	}
	return r.transact(r.putNew(item),
		types.TransactWriteItem{Update: &types.Update{TableName: aws.String(r.table), Key: rawKey("CODE#"+code, "CODE"),
			UpdateExpression:          aws.String("ADD #uses :one"),
			ConditionExpression:       aws.String("attribute_exists(#pk) AND #paused = :false"),
			ExpressionAttributeNames:  map[string]string{"#uses": "uses", "#pk": "PK", "#paused": "paused"},
			ExpressionAttributeValues: map[string]types.AttributeValue{":one": avN(1), ":false": avB(false)}}},
		types.TransactWriteItem{Update: &types.Update{TableName: aws.String(r.table), Key: rawKey("CUSTOMER#"+referee, "CUSTOMER"),
			UpdateExpression: aws.String("SET #type = :type, #cid = :cid, #updatedAt = :now, #createdAt = if_not_exists(#createdAt, :stamp), " +
				"#segment = if_not_exists(#segment, :segment), #pc = if_not_exists(#pc, :zero), #optout = if_not_exists(#optout, :false), " +
				"#email = :email, #name = :name, #locale = if_not_exists(#locale, :en)"),
			ExpressionAttributeNames: map[string]string{"#type": "type", "#cid": "customerId", "#updatedAt": "updatedAt", "#createdAt": "createdAt",
				"#segment": "segment", "#pc": "purchaseCount", "#optout": "marketingOptOut", "#email": "email", "#name": "name", "#locale": "locale"},
			ExpressionAttributeValues: map[string]types.AttributeValue{":type": avS("customer"), ":cid": avS(referee),
				":now": avS(now.Format(time.RFC3339Nano)), ":stamp": avS(rawStamp(now)), ":segment": avS("current"), ":zero": avN(0),
				":false": avB(false), ":email": avS(referee + "@example.com"), ":name": avS("Friend " + referee), ":en": avS("en")}}})
}

// createCode is POST /programs/demo/codes for a customer without one, by hand.
func (r *rawCalls) createCode(customer string) error {
	now := r.now()
	got, err := r.batchGet(rawKey("CUSTOMER#"+customer, "CUSTOMER"), rawKey("CUSTOMER#"+customer, "ADVOCATE#demo"))
	if err != nil {
		return err
	}
	c, ok := got["CUSTOMER#"+customer+"|CUSTOMER"]
	if !ok {
		return fmt.Errorf("customer %s not found", customer)
	}
	if _, ok := got["CUSTOMER#"+customer+"|ADVOCATE#demo"]; ok {
		return fmt.Errorf("%s has a code", customer)
	}
	name := c["name"].(*types.AttributeValueMemberS).Value
	code := randomCode()
	stamp := now.Format(time.RFC3339Nano)
	return r.transact(
		r.putNew(map[string]types.AttributeValue{"PK": avS("CODE#" + code), "SK": avS("CODE"), "type": avS("code"), "code": avS(code),
			"programId": avS("demo"), "customerId": avS(customer), "advocateFirstName": avS(name), "paused": avB(false),
			"uses": avN(0), "maxUses": avN(0), "expiresAt": avNull(), "createdAt": avS(stamp)}),
		r.putNew(map[string]types.AttributeValue{"PK": avS("CUSTOMER#" + customer), "SK": avS("ADVOCATE#demo"), "type": avS("advocate"),
			"programId": avS("demo"), "customerId": avS(customer), "code": avS(code), "rewardCount": avN(0), "rewardAmount": avN(0),
			"day": avS(""), "conversionsOnDay": avN(0), "version": avN(0), "createdAt": avS(stamp)}))
}

const codeAlphabet = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"

func randomCode() string {
	b := make([]byte, 10)
	for i := range b {
		n, _ := rand.Int(rand.Reader, big.NewInt(int64(len(codeAlphabet))))
		b[i] = codeAlphabet[n.Int64()]
	}
	return string(b)
}

func randomID(now time.Time) string {
	return fmt.Sprintf("%013d%s", now.UnixMilli(), randomCode())
}

// deflate compresses b as the store keeps a conversion's answer (DEFLATE; the store primes it
// with a dictionary, which changes the size, not the work).
func deflate(b []byte) []byte {
	var out bytes.Buffer
	w, _ := flate.NewWriter(&out, flate.BestCompression)
	_, _ = w.Write(b)
	_ = w.Close()
	return out.Bytes()
}
