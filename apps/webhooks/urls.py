from apps.webhooks.views import DeliveryViewSet, EndpointViewSet
from hyperrep.api.routers import Router

router = Router()
router.register("webhook-endpoints", EndpointViewSet, basename="webhook-endpoint")
router.register(
    r"webhook-endpoints/(?P<endpoint_id>[^/]+)/deliveries",
    DeliveryViewSet,
    basename="webhook-delivery",
)
urlpatterns = router.urls
