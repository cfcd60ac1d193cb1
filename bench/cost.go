package main

import (
	"fmt"
	"math"
	"sort"
	"strings"

	"github.com/referral/referrals/shared/metrics"
)

// Prices: AWS list prices, us-east-1, on-demand, as of 2025. They change; edit them here.
const (
	pricesAsOf         = "2025"
	priceWRU           = 0.625 / 1e6  // DynamoDB on-demand, per write request unit
	priceRRU           = 0.125 / 1e6  // DynamoDB on-demand, per read request unit
	priceLambdaGBs     = 0.0000133334 // Lambda arm64, per GB-second
	priceLambdaRequest = 0.20 / 1e6   // Lambda, per request
	priceHTTPAPI       = 1.00 / 1e6   // API Gateway HTTP API, per request (first 300 million a month)
	priceSESEmail      = 0.10 / 1000  // SES, per email sent
	priceLogsGB        = 0.50         // CloudWatch Logs, per GB ingested (standard class)
	perMillion         = 1e6          // the model's unit: one million conversions
)

const (
	sesLine            = "SES emails"
	logsGB             = 1024 * 1024 * 1024.0
	lambdaMinBilledMs  = 1.0
	notMeasured        = -1.0
	gbPerMB            = 1.0 / 1024
	conversionFunction = "ConversionsFunction"
)

// costLine is one line item of the model, in dollars per million of each scenario.
type costLine struct {
	Item       string
	Basis      string  // what the quantity is and where it was measured
	Conversion float64 // $ per million conversions (the conversion request and what it causes)
	Loop       float64 // $ per million referred customers: code check + referral + conversion
}

// costModel is the cost table and what it was computed from.
type costModel struct {
	Lines       []costLine
	Total, Loop float64
	BeforeEmail float64 // $ per million conversions, every line but the emails SES sends
	Notes       []string
	Missing     []string // inputs this run did not measure
}

// opUnits are the request units of one API operation (BenchmarkRoundTrips).
type opUnits struct{ rru, wru float64 }

func unitsOf(g *goBenchmarks, name string) (opUnits, bool) {
	d := g.record("RoundTrips", name)
	if d == nil {
		return opUnits{}, false
	}
	return opUnits{rru: num(d["rru"]), wru: num(d["wru"]) + num(d["gsiWru"])}, true
}

// consumerCost is what a stream function spends per operation (BenchmarkStreamConsumers).
type consumerCost struct {
	invocations, rru, wru, emails float64
}

// streamFunctions are the template's functions that read the table's stream.
func streamFunctions(fns []function) []string {
	var out []string
	for _, fn := range fns {
		if fn.Stream {
			out = append(out, fn.Name)
		}
	}
	return out
}

func consumerOf(g *goBenchmarks, op, fn string) consumerCost {
	d, _ := g.record("StreamConsumers", op)[fn].(map[string]any)
	return consumerCost{invocations: num(d["invocations"]), rru: num(d["rru"]), wru: num(d["wru"]), emails: num(d["emails"])}
}

func num(v any) float64 {
	f, _ := v.(float64)
	return f
}

// billedMs is the mean billed duration of a function's warm invocations in the stack run: those
// of its one-client phase when it had one (no queueing in the engine), else all of them.
func billedMs(st *stackResults, fn string) float64 {
	if st == nil {
		return notMeasured
	}
	quiet := map[string]bool{}
	for _, ph := range st.Phases {
		if ph.Function == fn && ph.Concurrency == 1 {
			quiet[ph.Name] = true
		}
	}
	var sum float64
	n := 0
	for _, r := range st.Reports {
		if r.Function == fn && r.InitMs == 0 && (len(quiet) == 0 || quiet[r.Phase]) {
			sum += math.Max(r.BilledMs, lambdaMinBilledMs)
			n++
		}
	}
	if n == 0 {
		return notMeasured
	}
	return sum / float64(n)
}

// logBytesPerInvocation is a function's application log volume per invocation in the stack run.
func logBytesPerInvocation(st *stackResults, fn string) float64 {
	if st == nil {
		return notMeasured
	}
	n := 0
	for _, r := range st.Reports {
		if r.Function == fn {
			n++
		}
	}
	if n == 0 {
		return notMeasured
	}
	return float64(st.LogBytes[fn]) / float64(n)
}

func buildCostModel(res *results, fns []function) costModel {
	var m costModel
	g := res.benches
	mem := map[string]float64{}
	for _, fn := range fns {
		mem[fn.Name] = float64(fn.MemoryMB)
	}
	conv, ok1 := unitsOf(g, "conversion|warm")
	ref, ok2 := unitsOf(g, "referral (attribution)|warm")
	check, ok3 := unitsOf(g, "public code check|warm")
	if !ok1 || !ok2 || !ok3 {
		m.Missing = append(m.Missing, "request units (BenchmarkRoundTrips did not run)")
	}
	add := func(item, basis string, conversion, loop float64) {
		m.Lines = append(m.Lines, costLine{Item: item, Basis: basis, Conversion: conversion * perMillion, Loop: loop * perMillion})
	}

	// The API requests: HTTP API, Lambda requests and compute, DynamoDB.
	authRate := 0.0
	if st := res.stack; st != nil && st.Requests > 0 {
		n := 0
		for _, r := range st.Reports {
			if r.Function == "AuthorizerFunction" {
				n++
			}
		}
		authRate = float64(n) / float64(st.Requests)
	}
	add("HTTP API requests", "1 request per API call", priceHTTPAPI, 3*priceHTTPAPI)
	add("Lambda requests (API functions + authorizer)",
		fmt.Sprintf("1 invocation per API call, plus %.4f authorizer invocations per call (its answer is cached per key for 300 s; rate measured in the local run)", authRate),
		(1+authRate)*priceLambdaRequest, 3*(1+authRate)*priceLambdaRequest)

	gbs := func(fn string) (float64, string) {
		ms := billedMs(res.stack, fn)
		if ms == notMeasured {
			m.Missing = append(m.Missing, "Lambda duration of "+fn)
			return 0, "not measured"
		}
		return mem[fn] * gbPerMB * ms / 1000, fmt.Sprintf("%.0f MB × %.1f ms", mem[fn], ms)
	}
	convGBs, convBasis := gbs(conversionFunction)
	refGBs, refBasis := gbs("ReferralsFunction")
	checkGBs, checkBasis := gbs("PublicCodesFunction")
	add("Lambda compute (arm64), API functions",
		fmt.Sprintf("conversion %s; referral %s; code check %s (mean billed duration with one client in the local run)", convBasis, refBasis, checkBasis),
		convGBs*priceLambdaGBs, (convGBs+refGBs+checkGBs)*priceLambdaGBs)
	add("DynamoDB writes, API path", fmt.Sprintf("conversion %.0f WRU; referral %.0f WRU (transactional writes at 2×, GSI writes included)", conv.wru, ref.wru),
		conv.wru*priceWRU, (conv.wru+ref.wru+check.wru)*priceWRU)
	add("DynamoDB reads, API path", fmt.Sprintf("conversion %.1f RRU; referral %.1f RRU; code check %.1f RRU", conv.rru, ref.rru, check.rru),
		conv.rru*priceRRU, (conv.rru+ref.rru+check.rru)*priceRRU)

	// What the stream functions do about it, in full batches (steady traffic).
	for _, fn := range streamFunctions(fns) {
		if _, measured := g.record("StreamConsumers", "conversion")[fn].(map[string]any); !measured {
			m.Missing = append(m.Missing, "what "+fn+" spends per operation (BenchmarkStreamConsumers does not run it)")
			continue
		}
		c, r := consumerOf(g, "conversion", fn), consumerOf(g, "referral", fn)
		ms := billedMs(res.stack, fn)
		msBasis := fmt.Sprintf("%.1f ms", ms)
		if ms == notMeasured {
			ms, msBasis = 0, "duration not measured"
		}
		perInv := mem[fn] * gbPerMB * ms / 1000 * priceLambdaGBs
		add(fmt.Sprintf("%s (stream): Lambda requests + compute", fn),
			fmt.Sprintf("%.3f invocations per conversion, %.3f per referral (batches of the template's BatchSize); %.0f MB × %s each (mean over the local run, under load: an upper bound)", c.invocations, r.invocations, mem[fn], msBasis),
			c.invocations*(priceLambdaRequest+perInv), (c.invocations+r.invocations)*(priceLambdaRequest+perInv))
		add(fmt.Sprintf("%s (stream): DynamoDB", fn),
			fmt.Sprintf("per conversion %.2f WRU + %.2f RRU; per referral %.2f WRU + %.2f RRU", c.wru, c.rru, r.wru, r.rru),
			c.wru*priceWRU+c.rru*priceRRU, (c.wru+r.wru)*priceWRU+(c.rru+r.rru)*priceRRU)
	}
	emails := consumerOf(g, "conversion", "EmailFunction").emails
	refEmails := consumerOf(g, "referral", "EmailFunction").emails
	add(sesLine, fmt.Sprintf("%.2f emails per conversion (the advocate's thank-you; a threshold prize adds one), %.2f per referral", emails, refEmails),
		emails*priceSESEmail, (emails+refEmails)*priceSESEmail)

	// Logs: not in the brief's price list, but every invocation pays them.
	var convLog, loopLog float64
	for _, fn := range []string{conversionFunction, "ReferralsFunction", "PublicCodesFunction"} {
		b := logBytesPerInvocation(res.stack, fn)
		if b == notMeasured {
			continue
		}
		if fn == conversionFunction {
			convLog += b
		}
		loopLog += b
	}
	add("CloudWatch Logs ingestion", fmt.Sprintf("%.0f bytes of JSON log + EMF per conversion invocation, %.0f for the three calls of a loop (measured in the local run)", convLog, loopLog),
		convLog/logsGB*priceLogsGB, loopLog/logsGB*priceLogsGB)

	for _, l := range m.Lines {
		m.Total += l.Conversion
		m.Loop += l.Loop
		if l.Item != sesLine {
			m.BeforeEmail += l.Conversion
		}
	}
	sort.Strings(m.Missing)
	m.Notes = []string{
		"DynamoDB Streams reads by Lambda event source mappings are free; stream consumers are priced by their invocations and the DynamoDB requests they make.",
		fmt.Sprintf("Fixed monthly costs are not per conversion and are left out: the %d custom metrics the functions publish (≈ $0.30 per metric per month, see the metrics section), alarms ($0.10 each per month), Secrets Manager ($0.40 per secret per month), SQS (idle), storage ($0.25 per GB-month) and point-in-time recovery ($0.20 per GB-month).", publishedMetrics(fns)),
		"The stream consumers' share is in full batches, each conversion of a batch from its own advocate (steady traffic from many advocates). At low traffic a batch holds a conversion or two: each conversion then starts its own stream invocations (about $0.40 per million more in Lambda requests) and pays a whole batch's writes (the insights' stats item and shard checkpoint, about 4 WRU, and the month's leaderboard board, 1–5 WRU by its size: $3 to $5.60 per million more).",
		"Lambda compute uses the local run's billed durations, which are the local engine's and this shared machine's as much as ours; DynamoDB takes a few milliseconds per round trip, so in AWS a warm conversion (2 round trips) bills on the order of 10–20 ms: $0.03–0.07 per million at 256 MB.",
	}
	return m
}

// publishedMetrics counts the custom metrics the template's functions publish (one per metric
// name and Function dimension: metrics.Published) and those its metric filters count from their
// logs.
func publishedMetrics(fns []function) int {
	n := 0
	for _, fn := range fns {
		n += len(metrics.Published[metricsName(fn.Name)]) + len(fn.LogMetrics)
	}
	return n
}

// metricsName is the name a function's main starts it under (platform.Start), which is its
// metrics' Function dimension: the logical ID without "Function", lower case.
func metricsName(logicalID string) string {
	return strings.ToLower(strings.TrimSuffix(logicalID, "Function"))
}
