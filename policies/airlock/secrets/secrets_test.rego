package airlock.secrets_test

import data.airlock.secrets

profiles := {
	"plain": {"allow": []},
	"strict": {"allow": [], "secrets": {"outbound": "block", "inbound": "alert"}},
	"typo": {"allow": [], "secrets": {"outbound": "redcat"}},
}

test_defaults_redact_both_ways if {
	secrets.outbound == "redact" with input as {"task": {"profile": "plain"}}
		with data.airlock.profiles as profiles
	secrets.inbound == "redact" with input as {"task": {"profile": "plain"}}
		with data.airlock.profiles as profiles
}

test_profile_modes_apply if {
	secrets.outbound == "block" with input as {"task": {"profile": "strict"}}
		with data.airlock.profiles as profiles
	secrets.inbound == "alert" with input as {"task": {"profile": "strict"}}
		with data.airlock.profiles as profiles
}

test_unknown_mode_fails_closed if {
	secrets.outbound == "block" with input as {"task": {"profile": "typo"}}
		with data.airlock.profiles as profiles
	secrets.inbound == "redact" with input as {"task": {"profile": "typo"}}
		with data.airlock.profiles as profiles
}

test_missing_input_still_defined if {
	secrets.outbound == "redact" with input as {}
	secrets.inbound == "redact" with input as {}
}
