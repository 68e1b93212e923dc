package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/spf13/cobra"

	"github.com/keyhaven/keyhaven/pkg/client"
)

func newKeyRotationPolicyCmd(s streams) *cobra.Command {
	cmd := &cobra.Command{Use: "rotation-policy", Short: "Show or update a key's rotation policy", RunE: groupRunE}
	show := newKeyOpCmd(s, secretOp{
		use: "show", short: "Show a key's rotation policy", target: byName,
		runKeys: func(ctx context.Context, c *client.KeysClient, t secretTarget) (any, error) {
			p, err := c.GetKeyRotationPolicy(ctx, t.name)
			if err != nil {
				return nil, err
			}
			return rotationPolicyView(p), nil
		},
	})
	var (
		value  string
		policy client.KeyRotationPolicy
	)
	update := newKeyOpCmd(s, secretOp{
		use: "update", short: "Replace a key's rotation policy", target: byName,
		flags: func(cmd *cobra.Command) {
			cmd.Flags().StringVar(&value, "value", "", "the policy: JSON, or @FILE (or the name of an existing file), "+
				`as the REST API writes it ({"lifetimeActions":[{"trigger":{"timeAfterCreate":"P90D"},"action":{"type":"Rotate"}}],`+
				`"attributes":{"expiryTime":"P2Y"}}), in snake_case as az accepts it, or as rotation-policy show prints it`)
		},
		prepare: func(*cobra.Command) (err error) {
			if err = requireFlag("--value", value); err != nil {
				return err
			}
			raw, err := readPolicyValue("--value", value)
			if err != nil {
				return err
			}
			policy, err = parseRotationPolicy(raw)
			return err
		},
		runKeys: func(ctx context.Context, c *client.KeysClient, t secretTarget) (any, error) {
			p, err := c.UpdateKeyRotationPolicy(ctx, t.name, policy)
			if err != nil {
				return nil, err
			}
			return rotationPolicyView(p), nil
		},
	})
	cmd.AddCommand(show, update)
	return cmd
}

// maxPolicyFile bounds what --value @FILE reads.
const maxPolicyFile = 1 << 20

// readPolicyValue returns the JSON of a policy flag (--value, --policy):
// inline, @FILE, or, as in az, the name of an existing file.
func readPolicyValue(flag, v string) ([]byte, error) {
	path, isFile := strings.CutPrefix(v, "@")
	if !isFile && !strings.HasPrefix(strings.TrimSpace(v), "{") {
		if _, err := os.Stat(v); err != nil {
			return nil, usageError{fmt.Errorf("%s is neither a JSON object nor an existing file (use @FILE)", flag)}
		}
		isFile = true
	}
	if !isFile {
		return []byte(v), nil
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", flag, err)
	}
	if len(data) > maxPolicyFile {
		return nil, fmt.Errorf("%s is larger than %d bytes", path, maxPolicyFile)
	}
	return data, nil
}

// policyKey folds a JSON member name so that the REST form (timeAfterCreate),
// the Python SDK's snake_case (time_after_create) that az reads and any
// capitalisation match.
func policyKey(k string) string {
	return strings.ToLower(strings.ReplaceAll(k, "_", ""))
}

// parseRotationPolicy reads a rotation policy in any of the forms az
// accepts: the REST form, snake_case, actions given as {"type": "Rotate"}
// or as "Rotate" with the trigger's fields beside it, and the expiry as
// expiryTime or expiresIn, in attributes or at the top. Read-only members
// (id, created, updated) are ignored, so that the output of
// rotation-policy show can be fed back; any other member is an error
// rather than silently dropped.
func parseRotationPolicy(raw []byte) (client.KeyRotationPolicy, error) {
	var p client.KeyRotationPolicy
	bad := func(format string, args ...any) (client.KeyRotationPolicy, error) {
		return client.KeyRotationPolicy{}, usageError{fmt.Errorf("--value: "+format, args...)}
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	var top map[string]any
	if err := dec.Decode(&top); err != nil || top == nil {
		return bad("not a JSON object")
	}
	if dec.More() {
		return bad("text after the JSON object")
	}
	p.LifetimeActions = []client.KeyRotationLifetimeAction{}
	var topExpiry, attrExpiry string
	for k, v := range top {
		var err error
		switch policyKey(k) {
		case "id", "createdon", "updatedon":
		case "expiresin", "expirytime":
			topExpiry, err = policyString(k, v)
		case "attributes":
			attrs, ok := v.(map[string]any)
			if v != nil && !ok {
				return bad("attributes must be an object")
			}
			for ak, av := range attrs {
				switch policyKey(ak) {
				case "created", "updated", "createdon", "updatedon":
				case "expirytime", "expiresin":
					attrExpiry, err = policyString(ak, av)
				default:
					return bad("unknown member %q in attributes", ak)
				}
				if err != nil {
					return bad("%v", err)
				}
			}
		case "lifetimeactions":
			list, ok := v.([]any)
			if v != nil && !ok {
				return bad("%s must be a list", k)
			}
			for i, item := range list {
				a, err := lifetimeAction(item)
				if err != nil {
					return bad("lifetime action %d: %v", i+1, err)
				}
				p.LifetimeActions = append(p.LifetimeActions, a)
			}
		default:
			return bad("unknown member %q (want lifetimeActions and attributes)", k)
		}
		if err != nil {
			return bad("%v", err)
		}
	}
	p.Attributes.ExpiryTime = topExpiry
	if attrExpiry != "" {
		p.Attributes.ExpiryTime = attrExpiry
	}
	return p, nil
}

func policyString(k string, v any) (string, error) {
	if v == nil {
		return "", nil
	}
	s, ok := v.(string)
	if !ok {
		return "", fmt.Errorf("%s must be a string such as \"P90D\"", k)
	}
	return s, nil
}

func lifetimeAction(item any) (client.KeyRotationLifetimeAction, error) {
	var a client.KeyRotationLifetimeAction
	m, ok := item.(map[string]any)
	if !ok {
		return a, errors.New("not an object")
	}
	var err error
	setTrigger := func(k string, v any) error {
		switch policyKey(k) {
		case "timeaftercreate":
			a.Trigger.TimeAfterCreate, err = policyString(k, v)
		case "timebeforeexpiry":
			a.Trigger.TimeBeforeExpiry, err = policyString(k, v)
		default:
			return fmt.Errorf("unknown member %q", k)
		}
		return err
	}
	for k, v := range m {
		switch policyKey(k) {
		case "trigger":
			t, ok := v.(map[string]any)
			if v != nil && !ok {
				return a, errors.New("trigger must be an object")
			}
			for tk, tv := range t {
				if err := setTrigger(tk, tv); err != nil {
					return a, err
				}
			}
		case "timeaftercreate", "timebeforeexpiry":
			if err := setTrigger(k, v); err != nil {
				return a, err
			}
		case "action":
			switch x := v.(type) {
			case string:
				a.Action.Type = x
			case map[string]any:
				for ak, av := range x {
					if policyKey(ak) != "type" {
						return a, fmt.Errorf("unknown member %q in action", ak)
					}
					if a.Action.Type, err = policyString(ak, av); err != nil {
						return a, err
					}
				}
			default:
				return a, errors.New(`action must be "Rotate", "Notify" or {"type": ...}`)
			}
		default:
			return a, fmt.Errorf("unknown member %q", k)
		}
	}
	if a.Action.Type, err = canonical("action type", a.Action.Type, []string{"Rotate", "Notify"}); err != nil {
		return a, errors.Unwrap(err)
	}
	return a, nil
}
