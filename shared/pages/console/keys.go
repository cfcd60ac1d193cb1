package console

import (
	"context"
	"net/http"
	"net/url"
	"strings"

	"github.com/referral/referrals/shared/api"
	"github.com/referral/referrals/shared/auth"
)

// keys is the API keys page: the keys (GET /keys: name, id, scope, created, the secret's last 4
// characters, never the secret) with a revoke button each, issuing a key (its secret is shown
// once, on the page that issues it), and revoking one by its id (keys the list predates).
func (c *Console) keys(ctx context.Context, req api.Request, v *visit) (api.Response, error) {
	return c.keysPage(ctx, http.StatusOK, v, req.QueryStringParameters["cursor"], map[string]any{"Done": doneMessages[req.QueryStringParameters["done"]]})
}

func (c *Console) keysPage(ctx context.Context, status int, v *visit, cursor string, data map[string]any) (api.Response, error) {
	q := map[string]string{"limit": "50"}
	if cursor != "" {
		q["cursor"] = cursor
	}
	var list api.KeyList
	ae, err := c.callJSON(ctx, v, "GET /keys", nil, q, nil, &list)
	if err != nil {
		return api.Response{}, err
	}
	if ae != nil {
		return c.notice(ae.Status, v.root, v, "The keys could not be listed", ae.Message)
	}
	rows := make([]any, 0, len(list.Keys))
	for _, k := range list.Keys {
		revoked := ""
		if k.RevokedAt != nil {
			revoked = k.RevokedAt.UTC().Format("2006-01-02 15:04")
		}
		rows = append(rows, map[string]any{"ID": k.KeyID, "Name": k.Name, "Scope": k.Scope, "Last4": k.Last4,
			"Created": k.CreatedAt.UTC().Format("2006-01-02 15:04"), "Revoked": revoked, "Current": k.KeyID == v.keyID})
	}
	next := ""
	if list.NextCursor != nil {
		next = "?" + url.Values{"cursor": {*list.NextCursor}}.Encode()
	}
	d := map[string]any{"Issued": false, "Done": "", "NameError": "", "ScopeError": "", "KeyIDError": "", "Name": "", "KeyID": "",
		"Keys": rows, "Next": next,
		"Scopes": []any{map[string]any{"Value": auth.ScopeServer, "Label": "server: the shop's backend (codes, referrals, conversions)"},
			map[string]any{"Value": auth.ScopeAdmin, "Label": "admin: everything, this console included"}}}
	for k, x := range data {
		d[k] = x
	}
	return c.page(status, "keys", v, v.root, d, "API keys")
}

func (c *Console) issueKey(ctx context.Context, _ api.Request, v *visit, form url.Values) (api.Response, error) {
	var issued api.IssuedKey
	name := strings.TrimSpace(form.Get("name"))
	ae, err := c.callJSON(ctx, v, "POST /keys", nil, nil, map[string]string{"scope": form.Get("scope"), "name": name}, &issued)
	if err != nil {
		return api.Response{}, err
	}
	if ae != nil {
		field := map[string]string{"scope": "ScopeError", "name": "NameError"}[inputOf(ae.Field)]
		if field == "" {
			field = "NameError"
		}
		return c.keysPage(ctx, ae.Status, v, "", map[string]any{field: fieldMessage(ae), "Name": name})
	}
	c.log.InfoContext(ctx, "console issued a key", "keyId", issued.KeyID, "scope", issued.Scope, "by", v.keyID)
	return c.keysPage(ctx, http.StatusCreated, v, "", map[string]any{"Issued": true, "Secret": issued.Secret, "IssuedID": issued.KeyID,
		"IssuedScope": issued.Scope, "IssuedName": issued.Name})
}

func (c *Console) revokeKey(ctx context.Context, _ api.Request, v *visit, form url.Values) (api.Response, error) {
	id := strings.TrimSpace(form.Get("keyId"))
	ae, err := c.callJSON(ctx, v, "DELETE /keys/{keyId}", map[string]string{"keyId": id}, nil, nil, nil)
	if err != nil {
		return api.Response{}, err
	}
	if ae != nil {
		return c.keysPage(ctx, ae.Status, v, "", map[string]any{"KeyIDError": fieldMessage(ae), "KeyID": id})
	}
	c.log.InfoContext(ctx, "console revoked a key", "keyId", id, "by", v.keyID)
	return redirect(v.root + "console/keys?done=revoked"), nil
}
