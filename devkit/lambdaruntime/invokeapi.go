package lambdaruntime

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"

	"github.com/referral/referrals/devkit/devlog"
)

// InvokeAPI is Lambda's Invoke API (POST /2015-03-31/functions/{name}/invocations) over the
// stack's functions, as `sam local start-lambda` serves it, so `aws lambda invoke
// --endpoint-url` and the SDKs' Invoke reach the running stack. A function is named by its
// logical ID, its function name or its ARN. RequestResponse answers the function's result
// (a function error as X-Amz-Function-Error: Unhandled with the error document), Event runs
// it in the background (202) and DryRun only checks the name (204).
type InvokeAPI struct {
	fns  map[string]*Function
	sink *devlog.Sink
	mux  *http.ServeMux
}

// NewInvokeAPI serves fns.
func NewInvokeAPI(fns map[string]*Function, sink *devlog.Sink) *InvokeAPI {
	a := &InvokeAPI{fns: fns, sink: sink, mux: http.NewServeMux()}
	a.mux.HandleFunc("POST /2015-03-31/functions/{name}/invocations", a.invoke)
	return a
}

func (a *InvokeAPI) ServeHTTP(w http.ResponseWriter, r *http.Request) { a.mux.ServeHTTP(w, r) }

func (a *InvokeAPI) function(name string) *Function {
	if i := strings.Index(name, ":function:"); i >= 0 { // an ARN, perhaps with a qualifier
		name, _, _ = strings.Cut(name[i+len(":function:"):], ":")
	}
	if fn := a.fns[name]; fn != nil {
		return fn
	}
	for _, fn := range a.fns {
		if fn.def.FuncName == name {
			return fn
		}
	}
	return nil
}

func lambdaError(w http.ResponseWriter, status int, typ, msg string) {
	w.Header().Set("X-Amzn-ErrorType", typ)
	WriteJSON(w, status, map[string]string{"Type": "User", "message": msg})
}

func (a *InvokeAPI) invoke(w http.ResponseWriter, r *http.Request) {
	fn := a.function(r.PathValue("name"))
	if fn == nil {
		lambdaError(w, http.StatusNotFound, "ResourceNotFoundException", "Function not found: "+r.PathValue("name"))
		return
	}
	payload, err := io.ReadAll(io.LimitReader(r.Body, maxResponseBytes+1))
	if err != nil || len(payload) > maxResponseBytes {
		lambdaError(w, http.StatusRequestEntityTooLarge, "RequestTooLargeException", "Request must be smaller than 6291456 bytes for the InvokeFunction operation")
		return
	}
	if len(payload) == 0 {
		payload = []byte("{}")
	}
	if !json.Valid(payload) {
		lambdaError(w, http.StatusBadRequest, "InvalidRequestContentException", "Could not parse request body into json")
		return
	}
	w.Header().Set("X-Amz-Executed-Version", "$LATEST")
	switch typ := r.Header.Get("X-Amz-Invocation-Type"); typ {
	case "", "RequestResponse":
	case "Event":
		go func() { _, _ = fn.Invoke(context.WithoutCancel(r.Context()), payload) }()
		w.WriteHeader(http.StatusAccepted)
		return
	case "DryRun":
		w.WriteHeader(http.StatusNoContent)
		return
	default:
		lambdaError(w, http.StatusBadRequest, "InvalidParameterValueException", "invalid X-Amz-Invocation-Type "+typ)
		return
	}
	out, err := fn.Invoke(context.WithoutCancel(r.Context()), payload)
	if err != nil {
		var ie *InvokeError
		if !errors.As(err, &ie) {
			ie = &InvokeError{Type: "ServiceException", Message: err.Error()}
		}
		if ie.Type == "Local.FunctionUnavailable" {
			lambdaError(w, http.StatusBadGateway, "ServiceException", ie.Message)
			return
		}
		w.Header().Set("X-Amz-Function-Error", "Unhandled")
		WriteJSON(w, http.StatusOK, ie)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(out)
}
