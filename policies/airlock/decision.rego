# METADATA
# title: Airlock policy
# description: |
#   Egress governance for AI agents. Profiles are data at
#   data.airlock.profiles[NAME].allow; the network rules live in data.airlock.network.
#   The single entrypoint is data.airlock.decision.
package airlock

import data.airlock.credentials
import data.airlock.network
import data.airlock.secrets

# METADATA
# title: Egress decision
# description: |
#   The one entrypoint queried by the Airlock proxy. Always defined, for any input:
#   {"allow": bool, "reasons": [code], "rules": [rule id], "messages": [sentence],
#   "profile": NAME}. On allow, reasons is ["allowed"] and rules names each matching
#   allow entry as "profile/NAME/allow/INDEX". On deny, reasons and rules come from
#   the METADATA of the deny rules in data.airlock.network, most specific first.
#   "secrets": {"outbound": MODE, "inbound": MODE} says what to do with a secret found
#   in the request or the response (data.airlock.secrets). "credentials": {"inject":
#   [NAME], "refuse": [NAME]} splits the credentials whose placeholders the request
#   carries (input.credentials) into those to inject and those to refuse
#   (data.airlock.credentials).
# entrypoint: true
# scope: document
decision := {
	"allow": allow,
	"reasons": reasons,
	"rules": rules,
	"messages": messages,
	"profile": network.profile_name,
	"secrets": {"outbound": secrets.outbound, "inbound": secrets.inbound},
	"credentials": {"inject": credentials.allowed, "refuse": credentials.refused},
}

default allow := false

allow if network.allow

reasons := ["allowed"] if allow

reasons := [v.reason | some v in network.ordered_violations] if not allow

rules := [sprintf("profile/%s/allow/%d", [network.profile_name, i]) |
	some i in network.allowed_indices
] if allow

rules := [v.rule | some v in network.ordered_violations] if not allow

messages := [sprintf(
	"Destination %s is allowed by profile %q (allow entry %d).",
	[network.destination_label, network.profile_name, network.allowed_indices[0]],
)] if allow

messages := [v.message | some v in network.ordered_violations] if not allow
