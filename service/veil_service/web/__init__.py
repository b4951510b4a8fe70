"""The web application: runs, jobs, results, DP budgets and administration in a browser.

Served by ``veil serve --web-port P`` in the server's own event loop (``server.WebServer``),
rendered on the server (Starlette + Jinja2) with one small script for live job progress. Every
page calls the same domain functions as the gRPC servicers, and names the RPC it stands for, so
that ``auth.authorize`` applies that RPC's rule from ``auth.rules``: there is no second copy of
who may do what. See docs/web.md.
"""
