from apps.drafts import views
from hyperrep.api.routers import Router

ID = "[^/]+"
router = Router()
router.register("message-drafts", views.MessageDraftViewSet, basename="message-draft")
router.register("messages-drafts", views.LegacyMessageDraftViewSet, basename="legacy-message-draft")
router.register(
    rf"conversations/(?P<conversation_id>{ID})/response-drafts",
    views.ResponseDraftViewSet,
    basename="response-draft",
)
urlpatterns = router.urls
