from apps.sales import views
from hyperrep.api.routers import Router

router = Router()
router.register("sales", views.SaleViewSet, basename="sale")
router.register(r"agents/(?P<agent_id>[^/]+)/sales", views.AgentSaleViewSet, basename="agent-sale")
urlpatterns = router.urls
