from apps.companies.views import CompanyViewSet
from hyperrep.api.routers import Router

router = Router()
router.register("companies", CompanyViewSet, basename="company")
urlpatterns = router.urls
