"""Billing's own settings (``LIFELINE_BILLING_*``): the council on the letters, ledger codes, Stripe."""

from __future__ import annotations

from functools import lru_cache

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class BillingSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="LIFELINE_BILLING_", env_file=".env", extra="ignore")

    council_name: str = "Cambridge City Council — Lifeline Service"
    council_address: str = "Lifeline Service\nThe Guildhall\nMarket Square\nCambridge CB2 3QJ"
    council_phone: str = "01223 457000"
    council_email: str = "lifeline.billing@example.gov.uk"
    vat_number: str | None = Field(default=None, description="printed on documents with standard-rated VAT")
    standard_vat_basis_points: int = Field(default=2000, ge=0, le=10_000, description="2000 = 20%")
    payment_terms_days: int = Field(default=30, ge=0, le=365)
    nominal_code: str = Field(default="4100", description="ledger nominal code for Lifeline income")
    cost_centre: str = Field(default="TEC01", description="ledger cost centre")
    bank_details: str = "Sort code 12-34-56, account 12345678, reference: your invoice number"
    run_batch_size: int = Field(default=1000, ge=1, le=20_000, description="connections per committed batch")
    stripe_api_key: SecretStr | None = Field(
        default=None, description="Stripe secret key; unset = Stripe off"
    )
    stripe_webhook_secret: SecretStr | None = Field(default=None, description="whsec_... of the endpoint")
    stripe_api_base: str | None = Field(default=None, description="tests only: a local fake of Stripe")
    fault_pause_between_batches_s: float = Field(
        default=0.0, ge=0, description="TESTING ONLY: sleep after each committed run batch (kill -9 test)"
    )

    @model_validator(mode="after")
    def _webhook_needs_secret(self) -> BillingSettings:
        if self.stripe_api_key and not self.stripe_webhook_secret:
            raise ValueError("LIFELINE_BILLING_STRIPE_API_KEY needs LIFELINE_BILLING_STRIPE_WEBHOOK_SECRET")
        return self

    @property
    def stripe_enabled(self) -> bool:
        return self.stripe_api_key is not None


@lru_cache
def get_billing_settings() -> BillingSettings:
    return BillingSettings()
