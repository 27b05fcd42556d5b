"""Article services: the editorial workflow (`workflow`), importing the outlet's text files
(`importing`) and the parse-ahead pipeline big imports run on (`pipeline`)."""
