"""Moving an MP kefu channel to WeCom 微信客服: plan, apply, invite, cutover mode and the report.

`plan.py` reads both platforms and proposes the target (kf accounts, servicers, contact-way links);
`planfile.py` reads and writes the plan the team edits; `apply.py` carries it out idempotently;
`invite.py` sends MP followers personal links; `links.py` links the WeCom identity that enters with
one to the MP contact (an ingest follow-up) and answers new MP conversations in cutover mode;
`report.py` counts who moved and `chart.py` draws it.
"""
