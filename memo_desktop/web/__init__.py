"""The HTTP adapter over core (like `ui/` over core; core never imports it): the web dashboard `/queue`, the JSON
API, Server-Sent Events of job events and Prometheus `/metrics`, on FastAPI + uvicorn in a thread the runtime owns.

    server      the runtime parts: the HTTP server (started with the runtime) and the live feed (once Redis answers)
    app         the FastAPI app: routes over core's snapshots and actions, errors mapped to status codes
    auth        the token (cookie or bearer) on every request; foreign origins refused for state changes
    live        job events and counts fanned out to every open event stream
    api, uploads, webhooks_api, page   the routes: queue API, streamed uploads, webhook management, the page

The web layer owns no queue logic: it reads `core.monitor` snapshots and calls `core.jobs.client.JobQueue`,
`core.pipeline` and `core.webhooks`.
"""
