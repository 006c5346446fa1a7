from apps.contacts.views import ContactViewSet
from hyperrep.api.routers import Router

router = Router()
router.register("contacts", ContactViewSet, basename="contact")
urlpatterns = router.urls
