from apps.organizations.views import OrganizationViewSet
from hyperrep.api.routers import Router

router = Router()
router.register("organizations", OrganizationViewSet, basename="organization")
urlpatterns = router.urls
