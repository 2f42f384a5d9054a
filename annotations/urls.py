from django.urls import path

from annotations.api import AnnotationDetailView, AnnotationListView

urlpatterns = [
    path("annotations", AnnotationListView.as_view(), name="annotations"),
    path("annotations/<int:annotation_id>", AnnotationDetailView.as_view(), name="annotation"),
]
