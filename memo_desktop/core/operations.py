"""The operations parts a runtime adds to its plan (`RuntimePlan.redis_parts`): webhook dispatching and delivery,
and the failure-rate alert. The GUI, `worker` and `serve` all run them, so events are heard and alerts evaluated
wherever work happens (see `core.webhooks` and `core.alerts` for why several processes never double up)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Callable

from memo_desktop.core.alerts import Alert, AlertEvaluator
from memo_desktop.core.runtime import Part, PartFactory
from memo_desktop.core.webhooks.delivery import delivery_queue
from memo_desktop.core.webhooks.dispatcher import WebhookDispatcher, WebhookWorkers

if TYPE_CHECKING:
    from memo_desktop.core.context import AppContext
    from memo_desktop.core.runtime import Runtime

AlertCallback = Callable[[str, Alert], None]


def watched_queue_names(ctx: AppContext) -> list[str]:
    """The queues a dashboard lists even before they hold a job: this machine's, its webhook deliveries' too."""
    return [*ctx.queue_names(), delivery_queue(ctx.settings.device)]


def operations_parts(on_alert: AlertCallback | None = None, deliver: bool = True) -> tuple[PartFactory, ...]:
    """Factories, in start order: the dispatcher, the delivery pool (unless `deliver` is False), then the alert
    evaluator (it hands transitions to the dispatcher). `on_alert(kind, alert)`: this process saw an alert fire
    or resolve (the GUI notifies)."""
    dispatchers: dict[int, WebhookDispatcher] = {}  # per runtime: a plan may serve several (settings swaps)

    def dispatcher(runtime: Runtime) -> Part:
        assert runtime.hub is not None  # redis parts start after the hub
        dispatchers[id(runtime)] = made = WebhookDispatcher(runtime.context, runtime.hub)
        return made

    def workers(runtime: Runtime) -> Part:
        return WebhookWorkers(runtime.context)

    def evaluator(runtime: Runtime) -> Part:
        ctx = runtime.context
        made = dispatchers.pop(id(runtime))
        return AlertEvaluator(ctx.redis, ctx.settings, runtime.hub, on_transition=made.alert_transition,
                              on_change=on_alert)

    return (dispatcher, workers, evaluator) if deliver else (dispatcher, evaluator)
