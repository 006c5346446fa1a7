from apps.agents.views import AgentViewSet
from hyperrep.api.routers import Router

router = Router()
router.register("agents", AgentViewSet, basename="agent")
urlpatterns = router.urls
