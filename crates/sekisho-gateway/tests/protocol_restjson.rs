//! rest-json routing, label decoding, path tricks, query strings, and the
//! error shape; the route table is loaded with every operation of the four
//! Bedrock services as botocore models them.

use http::Method;
use sekisho_gateway::error::{ApiError, Dialect, ErrorKind};
use sekisho_gateway::protocol::json::JsonLimits;
use sekisho_gateway::protocol::restjson::{
    self, PathLimits, QueryString, RouteId, RouteTable, decode_path, parse_json_body,
};
use serde_json::{Value, json};

/// (service, operation, method, requestUri) from botocore 1.44.8's models
/// of bedrock, bedrock-runtime, bedrock-agent and bedrock-agent-runtime.
#[rustfmt::skip]
const BEDROCK_ROUTES: &[(&str, &str, &str, &str)] = &[
    ("bedrock", "ArchiveProject", "POST", "/projects/{projectIdentifier}/archive"),
    ("bedrock", "BatchDeleteAdvancedPromptOptimizationJob", "POST", "/advanced-prompt-optimization-job/batch-delete"),
    ("bedrock", "BatchDeleteEvaluationJob", "POST", "/evaluation-jobs/batch-delete"),
    ("bedrock", "CancelAutomatedReasoningPolicyBuildWorkflow", "POST", "/automated-reasoning-policies/{policyArn}/build-workflows/{buildWorkflowId}/cancel"),
    ("bedrock", "CreateAdvancedPromptOptimizationJob", "POST", "/advanced-prompt-optimization-jobs"),
    ("bedrock", "CreateAutomatedReasoningPolicy", "POST", "/automated-reasoning-policies"),
    ("bedrock", "CreateAutomatedReasoningPolicyTestCase", "POST", "/automated-reasoning-policies/{policyArn}/test-cases"),
    ("bedrock", "CreateAutomatedReasoningPolicyVersion", "POST", "/automated-reasoning-policies/{policyArn}/versions"),
    ("bedrock", "CreateCustomModel", "POST", "/custom-models/create-custom-model"),
    ("bedrock", "CreateCustomModelDeployment", "POST", "/model-customization/custom-model-deployments"),
    ("bedrock", "CreateEvaluationJob", "POST", "/evaluation-jobs"),
    ("bedrock", "CreateFoundationModelAgreement", "POST", "/create-foundation-model-agreement"),
    ("bedrock", "CreateGuardrail", "POST", "/guardrails"),
    ("bedrock", "CreateGuardrailVersion", "POST", "/guardrails/{guardrailIdentifier}"),
    ("bedrock", "CreateInferenceProfile", "POST", "/inference-profiles"),
    ("bedrock", "CreateMarketplaceModelEndpoint", "POST", "/marketplace-model/endpoints"),
    ("bedrock", "CreateModelCopyJob", "POST", "/model-copy-jobs"),
    ("bedrock", "CreateModelCustomizationJob", "POST", "/model-customization-jobs"),
    ("bedrock", "CreateModelImportJob", "POST", "/model-import-jobs"),
    ("bedrock", "CreateModelInvocationJob", "POST", "/model-invocation-job"),
    ("bedrock", "CreateProject", "POST", "/projects"),
    ("bedrock", "CreatePromptRouter", "POST", "/prompt-routers"),
    ("bedrock", "CreateProvisionedModelThroughput", "POST", "/provisioned-model-throughput"),
    ("bedrock", "DeleteAccountDataRetentionStorage", "DELETE", "/v1/data_retention/storage/{modelProvider}"),
    ("bedrock", "DeleteAutomatedReasoningPolicy", "DELETE", "/automated-reasoning-policies/{policyArn}"),
    ("bedrock", "DeleteAutomatedReasoningPolicyBuildWorkflow", "DELETE", "/automated-reasoning-policies/{policyArn}/build-workflows/{buildWorkflowId}"),
    ("bedrock", "DeleteAutomatedReasoningPolicyTestCase", "DELETE", "/automated-reasoning-policies/{policyArn}/test-cases/{testCaseId}"),
    ("bedrock", "DeleteCustomModel", "DELETE", "/custom-models/{modelIdentifier}"),
    ("bedrock", "DeleteCustomModelDeployment", "DELETE", "/model-customization/custom-model-deployments/{customModelDeploymentIdentifier}"),
    ("bedrock", "DeleteEnforcedGuardrailConfiguration", "DELETE", "/enforcedGuardrailsConfiguration/{configId}"),
    ("bedrock", "DeleteFoundationModelAgreement", "POST", "/delete-foundation-model-agreement"),
    ("bedrock", "DeleteGuardrail", "DELETE", "/guardrails/{guardrailIdentifier}"),
    ("bedrock", "DeleteImportedModel", "DELETE", "/imported-models/{modelIdentifier}"),
    ("bedrock", "DeleteInferenceProfile", "DELETE", "/inference-profiles/{inferenceProfileIdentifier}"),
    ("bedrock", "DeleteMarketplaceModelEndpoint", "DELETE", "/marketplace-model/endpoints/{endpointArn}"),
    ("bedrock", "DeleteModelInvocationLoggingConfiguration", "DELETE", "/logging/modelinvocations"),
    ("bedrock", "DeleteOrganizationDataRetentionStorage", "DELETE", "/v1/data_retention/organization-storage/{modelProvider}"),
    ("bedrock", "DeleteProjectDataRetentionStorage", "DELETE", "/v1/projects/{projectIdentifier}/data_retention/storage/{modelProvider}"),
    ("bedrock", "DeletePromptRouter", "DELETE", "/prompt-routers/{promptRouterArn}"),
    ("bedrock", "DeleteProvisionedModelThroughput", "DELETE", "/provisioned-model-throughput/{provisionedModelId}"),
    ("bedrock", "DeleteResourcePolicy", "DELETE", "/resource-policy/{resourceArn}"),
    ("bedrock", "DeregisterMarketplaceModelEndpoint", "DELETE", "/marketplace-model/endpoints/{endpointArn}/registration"),
    ("bedrock", "ExportAutomatedReasoningPolicyVersion", "GET", "/automated-reasoning-policies/{policyArn}/export"),
    ("bedrock", "GetAccountDataRetention", "GET", "/data-retention"),
    ("bedrock", "GetAccountDataRetentionStorage", "GET", "/v1/data_retention/storage/{modelProvider}"),
    ("bedrock", "GetAdvancedPromptOptimizationJob", "GET", "/advanced-prompt-optimization-jobs/{jobIdentifier}"),
    ("bedrock", "GetAutomatedReasoningPolicy", "GET", "/automated-reasoning-policies/{policyArn}"),
    ("bedrock", "GetAutomatedReasoningPolicyAnnotations", "GET", "/automated-reasoning-policies/{policyArn}/build-workflows/{buildWorkflowId}/annotations"),
    ("bedrock", "GetAutomatedReasoningPolicyBuildWorkflow", "GET", "/automated-reasoning-policies/{policyArn}/build-workflows/{buildWorkflowId}"),
    ("bedrock", "GetAutomatedReasoningPolicyBuildWorkflowResultAssets", "GET", "/automated-reasoning-policies/{policyArn}/build-workflows/{buildWorkflowId}/result-assets"),
    ("bedrock", "GetAutomatedReasoningPolicyNextScenario", "GET", "/automated-reasoning-policies/{policyArn}/build-workflows/{buildWorkflowId}/scenarios"),
    ("bedrock", "GetAutomatedReasoningPolicyTestCase", "GET", "/automated-reasoning-policies/{policyArn}/test-cases/{testCaseId}"),
    ("bedrock", "GetAutomatedReasoningPolicyTestResult", "GET", "/automated-reasoning-policies/{policyArn}/build-workflows/{buildWorkflowId}/test-cases/{testCaseId}/test-results"),
    ("bedrock", "GetCustomModel", "GET", "/custom-models/{modelIdentifier}"),
    ("bedrock", "GetCustomModelDeployment", "GET", "/model-customization/custom-model-deployments/{customModelDeploymentIdentifier}"),
    ("bedrock", "GetEvaluationJob", "GET", "/evaluation-jobs/{jobIdentifier}"),
    ("bedrock", "GetFoundationModel", "GET", "/foundation-models/{modelIdentifier}"),
    ("bedrock", "GetFoundationModelAvailability", "GET", "/foundation-model-availability/{modelId}"),
    ("bedrock", "GetGuardrail", "GET", "/guardrails/{guardrailIdentifier}"),
    ("bedrock", "GetImportedModel", "GET", "/imported-models/{modelIdentifier}"),
    ("bedrock", "GetInferenceProfile", "GET", "/inference-profiles/{inferenceProfileIdentifier}"),
    ("bedrock", "GetMarketplaceModelEndpoint", "GET", "/marketplace-model/endpoints/{endpointArn}"),
    ("bedrock", "GetModelCopyJob", "GET", "/model-copy-jobs/{jobArn}"),
    ("bedrock", "GetModelCustomizationJob", "GET", "/model-customization-jobs/{jobIdentifier}"),
    ("bedrock", "GetModelImportJob", "GET", "/model-import-jobs/{jobIdentifier}"),
    ("bedrock", "GetModelInvocationJob", "GET", "/model-invocation-job/{jobIdentifier}"),
    ("bedrock", "GetModelInvocationLoggingConfiguration", "GET", "/logging/modelinvocations"),
    ("bedrock", "GetOrganizationDataRetentionStorage", "GET", "/v1/data_retention/organization-storage/{modelProvider}"),
    ("bedrock", "GetProject", "GET", "/projects/{projectIdentifier}"),
    ("bedrock", "GetProjectDataRetentionStorage", "GET", "/v1/projects/{projectIdentifier}/data_retention/storage/{modelProvider}"),
    ("bedrock", "GetPromptRouter", "GET", "/prompt-routers/{promptRouterArn}"),
    ("bedrock", "GetProvisionedModelThroughput", "GET", "/provisioned-model-throughput/{provisionedModelId}"),
    ("bedrock", "GetResourcePolicy", "GET", "/resource-policy/{resourceArn}"),
    ("bedrock", "GetTrustedAccessProgram", "GET", "/trusted-access-programs/{programIdentifier}"),
    ("bedrock", "GetTrustedAccessProgramAccountEnrollment", "GET", "/trusted-access-programs/{programIdentifier}/account-enrollment"),
    ("bedrock", "GetTrustedAccessProgramOrganizationEnrollment", "GET", "/trusted-access-programs/{programIdentifier}/organization-enrollment"),
    ("bedrock", "GetTrustedAccessProgramProjectEnrollment", "GET", "/trusted-access-programs/{programIdentifier}/project-enrollment/{projectIdentifier}"),
    ("bedrock", "GetUseCaseForModelAccess", "GET", "/use-case-for-model-access"),
    ("bedrock", "ListAdvancedPromptOptimizationJobs", "GET", "/advanced-prompt-optimization-jobs"),
    ("bedrock", "ListAutomatedReasoningPolicies", "GET", "/automated-reasoning-policies"),
    ("bedrock", "ListAutomatedReasoningPolicyBuildWorkflows", "GET", "/automated-reasoning-policies/{policyArn}/build-workflows"),
    ("bedrock", "ListAutomatedReasoningPolicyTestCases", "GET", "/automated-reasoning-policies/{policyArn}/test-cases"),
    ("bedrock", "ListAutomatedReasoningPolicyTestResults", "GET", "/automated-reasoning-policies/{policyArn}/build-workflows/{buildWorkflowId}/test-results"),
    ("bedrock", "ListCustomModelDeployments", "GET", "/model-customization/custom-model-deployments"),
    ("bedrock", "ListCustomModels", "GET", "/custom-models"),
    ("bedrock", "ListEnforcedGuardrailsConfiguration", "GET", "/enforcedGuardrailsConfiguration"),
    ("bedrock", "ListEvaluationJobs", "GET", "/evaluation-jobs"),
    ("bedrock", "ListFoundationModelAgreementOffers", "GET", "/list-foundation-model-agreement-offers/{modelId}"),
    ("bedrock", "ListFoundationModels", "GET", "/foundation-models"),
    ("bedrock", "ListGuardrails", "GET", "/guardrails"),
    ("bedrock", "ListImportedModels", "GET", "/imported-models"),
    ("bedrock", "ListInferenceProfiles", "GET", "/inference-profiles"),
    ("bedrock", "ListMarketplaceModelEndpoints", "GET", "/marketplace-model/endpoints"),
    ("bedrock", "ListModelCopyJobs", "GET", "/model-copy-jobs"),
    ("bedrock", "ListModelCustomizationJobs", "GET", "/model-customization-jobs"),
    ("bedrock", "ListModelImportJobs", "GET", "/model-import-jobs"),
    ("bedrock", "ListModelInvocationJobs", "GET", "/model-invocation-jobs"),
    ("bedrock", "ListProjects", "GET", "/projects"),
    ("bedrock", "ListPromptRouters", "GET", "/prompt-routers"),
    ("bedrock", "ListProvisionedModelThroughputs", "GET", "/provisioned-model-throughputs"),
    ("bedrock", "ListTagsForResource", "POST", "/listTagsForResource"),
    ("bedrock", "ListTrustedAccessPrograms", "GET", "/trusted-access-programs"),
    ("bedrock", "PutAccountDataRetention", "PUT", "/data-retention"),
    ("bedrock", "PutAccountDataRetentionStorage", "PUT", "/v1/data_retention/storage/{modelProvider}"),
    ("bedrock", "PutEnforcedGuardrailConfiguration", "PUT", "/enforcedGuardrailsConfiguration"),
    ("bedrock", "PutModelInvocationLoggingConfiguration", "PUT", "/logging/modelinvocations"),
    ("bedrock", "PutOrganizationDataRetentionStorage", "PUT", "/v1/data_retention/organization-storage/{modelProvider}"),
    ("bedrock", "PutProjectDataRetentionStorage", "PUT", "/v1/projects/{projectIdentifier}/data_retention/storage/{modelProvider}"),
    ("bedrock", "PutResourcePolicy", "POST", "/resource-policy"),
    ("bedrock", "PutTrustedAccessProgramAccountEnrollment", "PUT", "/trusted-access-programs/{programIdentifier}/account-enrollment"),
    ("bedrock", "PutTrustedAccessProgramOrganizationEnrollment", "PUT", "/trusted-access-programs/{programIdentifier}/organization-enrollment"),
    ("bedrock", "PutTrustedAccessProgramProjectEnrollment", "PUT", "/trusted-access-programs/{programIdentifier}/project-enrollment/{projectIdentifier}"),
    ("bedrock", "PutUseCaseForModelAccess", "POST", "/use-case-for-model-access"),
    ("bedrock", "RegisterMarketplaceModelEndpoint", "POST", "/marketplace-model/endpoints/{endpointIdentifier}/registration"),
    ("bedrock", "StartAutomatedReasoningPolicyBuildWorkflow", "POST", "/automated-reasoning-policies/{policyArn}/build-workflows/{buildWorkflowType}/start"),
    ("bedrock", "StartAutomatedReasoningPolicyTestWorkflow", "POST", "/automated-reasoning-policies/{policyArn}/build-workflows/{buildWorkflowId}/test-workflows"),
    ("bedrock", "StartTrustedAccessProgramAccountApplication", "POST", "/trusted-access-programs/{programIdentifier}/account-application"),
    ("bedrock", "StartTrustedAccessProgramOrganizationApplication", "POST", "/trusted-access-programs/{programIdentifier}/organization-application"),
    ("bedrock", "StartTrustedAccessProgramProjectApplication", "POST", "/trusted-access-programs/{programIdentifier}/project-application/{projectIdentifier}"),
    ("bedrock", "StopAdvancedPromptOptimizationJob", "POST", "/advanced-prompt-optimization-jobs/{jobIdentifier}/stop"),
    ("bedrock", "StopEvaluationJob", "POST", "/evaluation-job/{jobIdentifier}/stop"),
    ("bedrock", "StopModelCustomizationJob", "POST", "/model-customization-jobs/{jobIdentifier}/stop"),
    ("bedrock", "StopModelInvocationJob", "POST", "/model-invocation-job/{jobIdentifier}/stop"),
    ("bedrock", "TagResource", "POST", "/tagResource"),
    ("bedrock", "UntagResource", "POST", "/untagResource"),
    ("bedrock", "UpdateAutomatedReasoningPolicy", "PATCH", "/automated-reasoning-policies/{policyArn}"),
    ("bedrock", "UpdateAutomatedReasoningPolicyAnnotations", "PATCH", "/automated-reasoning-policies/{policyArn}/build-workflows/{buildWorkflowId}/annotations"),
    ("bedrock", "UpdateAutomatedReasoningPolicyTestCase", "PATCH", "/automated-reasoning-policies/{policyArn}/test-cases/{testCaseId}"),
    ("bedrock", "UpdateCustomModelDeployment", "PATCH", "/model-customization/custom-model-deployments/{customModelDeploymentIdentifier}"),
    ("bedrock", "UpdateGuardrail", "PUT", "/guardrails/{guardrailIdentifier}"),
    ("bedrock", "UpdateMarketplaceModelEndpoint", "PATCH", "/marketplace-model/endpoints/{endpointArn}"),
    ("bedrock", "UpdateProject", "POST", "/projects/{projectIdentifier}"),
    ("bedrock", "UpdateProvisionedModelThroughput", "PATCH", "/provisioned-model-throughput/{provisionedModelId}"),
    ("bedrock-runtime", "ApplyGuardrail", "POST", "/guardrail/{guardrailIdentifier}/version/{guardrailVersion}/apply"),
    ("bedrock-runtime", "Converse", "POST", "/model/{modelId}/converse"),
    ("bedrock-runtime", "ConverseStream", "POST", "/model/{modelId}/converse-stream"),
    ("bedrock-runtime", "CountTokens", "POST", "/model/{modelId}/count-tokens"),
    ("bedrock-runtime", "GetAsyncInvoke", "GET", "/async-invoke/{invocationArn}"),
    ("bedrock-runtime", "InvokeGuardrailChecks", "POST", "/guardrail-checks/invoke"),
    ("bedrock-runtime", "InvokeModel", "POST", "/model/{modelId}/invoke"),
    ("bedrock-runtime", "InvokeModelWithBidirectionalStream", "POST", "/model/{modelId}/invoke-with-bidirectional-stream"),
    ("bedrock-runtime", "InvokeModelWithResponseStream", "POST", "/model/{modelId}/invoke-with-response-stream"),
    ("bedrock-runtime", "ListAsyncInvokes", "GET", "/async-invoke"),
    ("bedrock-runtime", "StartAsyncInvoke", "POST", "/async-invoke"),
    ("bedrock-agent", "AssociateAgentCollaborator", "PUT", "/agents/{agentId}/agentversions/{agentVersion}/agentcollaborators/"),
    ("bedrock-agent", "AssociateAgentKnowledgeBase", "PUT", "/agents/{agentId}/agentversions/{agentVersion}/knowledgebases/"),
    ("bedrock-agent", "CreateAgent", "PUT", "/agents/"),
    ("bedrock-agent", "CreateAgentActionGroup", "PUT", "/agents/{agentId}/agentversions/{agentVersion}/actiongroups/"),
    ("bedrock-agent", "CreateAgentAlias", "PUT", "/agents/{agentId}/agentaliases/"),
    ("bedrock-agent", "CreateDataSource", "PUT", "/knowledgebases/{knowledgeBaseId}/datasources/"),
    ("bedrock-agent", "CreateFlow", "POST", "/flows/"),
    ("bedrock-agent", "CreateFlowAlias", "POST", "/flows/{flowIdentifier}/aliases"),
    ("bedrock-agent", "CreateFlowVersion", "POST", "/flows/{flowIdentifier}/versions"),
    ("bedrock-agent", "CreateKnowledgeBase", "PUT", "/knowledgebases/"),
    ("bedrock-agent", "CreatePrompt", "POST", "/prompts/"),
    ("bedrock-agent", "CreatePromptVersion", "POST", "/prompts/{promptIdentifier}/versions"),
    ("bedrock-agent", "CreateRetrievalInstruction", "POST", "/retrievalinstructions/"),
    ("bedrock-agent", "CreateRetrievalInstructionVersion", "POST", "/retrievalinstructions/{retrievalInstructionId}/versions"),
    ("bedrock-agent", "CreateVpcConfiguration", "POST", "/knowledgebases/{knowledgeBaseId}/vpcconfigurations/"),
    ("bedrock-agent", "DeleteAgent", "DELETE", "/agents/{agentId}/"),
    ("bedrock-agent", "DeleteAgentActionGroup", "DELETE", "/agents/{agentId}/agentversions/{agentVersion}/actiongroups/{actionGroupId}/"),
    ("bedrock-agent", "DeleteAgentAlias", "DELETE", "/agents/{agentId}/agentaliases/{agentAliasId}/"),
    ("bedrock-agent", "DeleteAgentVersion", "DELETE", "/agents/{agentId}/agentversions/{agentVersion}/"),
    ("bedrock-agent", "DeleteDataSource", "DELETE", "/knowledgebases/{knowledgeBaseId}/datasources/{dataSourceId}"),
    ("bedrock-agent", "DeleteFlow", "DELETE", "/flows/{flowIdentifier}/"),
    ("bedrock-agent", "DeleteFlowAlias", "DELETE", "/flows/{flowIdentifier}/aliases/{aliasIdentifier}"),
    ("bedrock-agent", "DeleteFlowVersion", "DELETE", "/flows/{flowIdentifier}/versions/{flowVersion}/"),
    ("bedrock-agent", "DeleteKnowledgeBase", "DELETE", "/knowledgebases/{knowledgeBaseId}"),
    ("bedrock-agent", "DeleteKnowledgeBaseDocuments", "POST", "/knowledgebases/{knowledgeBaseId}/datasources/{dataSourceId}/documents/deleteDocuments"),
    ("bedrock-agent", "DeletePrompt", "DELETE", "/prompts/{promptIdentifier}/"),
    ("bedrock-agent", "DeleteResourcePolicy", "DELETE", "/resourcepolicy/{resourceArn}"),
    ("bedrock-agent", "DeleteRetrievalInstruction", "DELETE", "/retrievalinstructions/{retrievalInstructionId}"),
    ("bedrock-agent", "DeleteVpcConfiguration", "DELETE", "/knowledgebases/{knowledgeBaseId}/vpcconfigurations/{vpcConfigurationId}"),
    ("bedrock-agent", "DisassociateAgentCollaborator", "DELETE", "/agents/{agentId}/agentversions/{agentVersion}/agentcollaborators/{collaboratorId}/"),
    ("bedrock-agent", "DisassociateAgentKnowledgeBase", "DELETE", "/agents/{agentId}/agentversions/{agentVersion}/knowledgebases/{knowledgeBaseId}/"),
    ("bedrock-agent", "GetAgent", "GET", "/agents/{agentId}/"),
    ("bedrock-agent", "GetAgentActionGroup", "GET", "/agents/{agentId}/agentversions/{agentVersion}/actiongroups/{actionGroupId}/"),
    ("bedrock-agent", "GetAgentAlias", "GET", "/agents/{agentId}/agentaliases/{agentAliasId}/"),
    ("bedrock-agent", "GetAgentCollaborator", "GET", "/agents/{agentId}/agentversions/{agentVersion}/agentcollaborators/{collaboratorId}/"),
    ("bedrock-agent", "GetAgentKnowledgeBase", "GET", "/agents/{agentId}/agentversions/{agentVersion}/knowledgebases/{knowledgeBaseId}/"),
    ("bedrock-agent", "GetAgentVersion", "GET", "/agents/{agentId}/agentversions/{agentVersion}/"),
    ("bedrock-agent", "GetDataSource", "GET", "/knowledgebases/{knowledgeBaseId}/datasources/{dataSourceId}"),
    ("bedrock-agent", "GetFlow", "GET", "/flows/{flowIdentifier}/"),
    ("bedrock-agent", "GetFlowAlias", "GET", "/flows/{flowIdentifier}/aliases/{aliasIdentifier}"),
    ("bedrock-agent", "GetFlowVersion", "GET", "/flows/{flowIdentifier}/versions/{flowVersion}/"),
    ("bedrock-agent", "GetIngestionJob", "GET", "/knowledgebases/{knowledgeBaseId}/datasources/{dataSourceId}/ingestionjobs/{ingestionJobId}"),
    ("bedrock-agent", "GetKnowledgeBase", "GET", "/knowledgebases/{knowledgeBaseId}"),
    ("bedrock-agent", "GetKnowledgeBaseDocuments", "POST", "/knowledgebases/{knowledgeBaseId}/datasources/{dataSourceId}/documents/getDocuments"),
    ("bedrock-agent", "GetPrompt", "GET", "/prompts/{promptIdentifier}/"),
    ("bedrock-agent", "GetResourcePolicy", "GET", "/resourcepolicy/{resourceArn}"),
    ("bedrock-agent", "GetRetrievalInstruction", "GET", "/retrievalinstructions/{retrievalInstructionId}"),
    ("bedrock-agent", "GetVpcConfiguration", "GET", "/knowledgebases/{knowledgeBaseId}/vpcconfigurations/{vpcConfigurationId}"),
    ("bedrock-agent", "IngestKnowledgeBaseDocuments", "PUT", "/knowledgebases/{knowledgeBaseId}/datasources/{dataSourceId}/documents"),
    ("bedrock-agent", "ListAgentActionGroups", "POST", "/agents/{agentId}/agentversions/{agentVersion}/actiongroups/"),
    ("bedrock-agent", "ListAgentAliases", "POST", "/agents/{agentId}/agentaliases/"),
    ("bedrock-agent", "ListAgentCollaborators", "POST", "/agents/{agentId}/agentversions/{agentVersion}/agentcollaborators/"),
    ("bedrock-agent", "ListAgentKnowledgeBases", "POST", "/agents/{agentId}/agentversions/{agentVersion}/knowledgebases/"),
    ("bedrock-agent", "ListAgentVersions", "POST", "/agents/{agentId}/agentversions/"),
    ("bedrock-agent", "ListAgents", "POST", "/agents/"),
    ("bedrock-agent", "ListDataSources", "POST", "/knowledgebases/{knowledgeBaseId}/datasources/"),
    ("bedrock-agent", "ListFlowAliases", "GET", "/flows/{flowIdentifier}/aliases"),
    ("bedrock-agent", "ListFlowVersions", "GET", "/flows/{flowIdentifier}/versions"),
    ("bedrock-agent", "ListFlows", "GET", "/flows/"),
    ("bedrock-agent", "ListIngestionJobs", "POST", "/knowledgebases/{knowledgeBaseId}/datasources/{dataSourceId}/ingestionjobs/"),
    ("bedrock-agent", "ListKnowledgeBaseDocuments", "POST", "/knowledgebases/{knowledgeBaseId}/datasources/{dataSourceId}/documents"),
    ("bedrock-agent", "ListKnowledgeBases", "POST", "/knowledgebases/"),
    ("bedrock-agent", "ListPrompts", "GET", "/prompts/"),
    ("bedrock-agent", "ListRetrievalInstructionVersions", "GET", "/retrievalinstructions/{retrievalInstructionId}/versions"),
    ("bedrock-agent", "ListRetrievalInstructions", "GET", "/retrievalinstructions/"),
    ("bedrock-agent", "ListTagsForResource", "GET", "/tags/{resourceArn}"),
    ("bedrock-agent", "ListVpcConfigurations", "GET", "/knowledgebases/{knowledgeBaseId}/vpcconfigurations/"),
    ("bedrock-agent", "PrepareAgent", "POST", "/agents/{agentId}/"),
    ("bedrock-agent", "PrepareFlow", "POST", "/flows/{flowIdentifier}/"),
    ("bedrock-agent", "PutResourcePolicy", "PUT", "/resourcepolicy/{resourceArn}"),
    ("bedrock-agent", "StartIngestionJob", "PUT", "/knowledgebases/{knowledgeBaseId}/datasources/{dataSourceId}/ingestionjobs/"),
    ("bedrock-agent", "StopIngestionJob", "POST", "/knowledgebases/{knowledgeBaseId}/datasources/{dataSourceId}/ingestionjobs/{ingestionJobId}/stop"),
    ("bedrock-agent", "TagResource", "POST", "/tags/{resourceArn}"),
    ("bedrock-agent", "UntagResource", "DELETE", "/tags/{resourceArn}"),
    ("bedrock-agent", "UpdateAgent", "PUT", "/agents/{agentId}/"),
    ("bedrock-agent", "UpdateAgentActionGroup", "PUT", "/agents/{agentId}/agentversions/{agentVersion}/actiongroups/{actionGroupId}/"),
    ("bedrock-agent", "UpdateAgentAlias", "PUT", "/agents/{agentId}/agentaliases/{agentAliasId}/"),
    ("bedrock-agent", "UpdateAgentCollaborator", "PUT", "/agents/{agentId}/agentversions/{agentVersion}/agentcollaborators/{collaboratorId}/"),
    ("bedrock-agent", "UpdateAgentKnowledgeBase", "PUT", "/agents/{agentId}/agentversions/{agentVersion}/knowledgebases/{knowledgeBaseId}/"),
    ("bedrock-agent", "UpdateDataSource", "PUT", "/knowledgebases/{knowledgeBaseId}/datasources/{dataSourceId}"),
    ("bedrock-agent", "UpdateFlow", "PUT", "/flows/{flowIdentifier}/"),
    ("bedrock-agent", "UpdateFlowAlias", "PUT", "/flows/{flowIdentifier}/aliases/{aliasIdentifier}"),
    ("bedrock-agent", "UpdateKnowledgeBase", "PUT", "/knowledgebases/{knowledgeBaseId}"),
    ("bedrock-agent", "UpdatePrompt", "PUT", "/prompts/{promptIdentifier}/"),
    ("bedrock-agent", "UpdateRetrievalInstruction", "PUT", "/retrievalinstructions/{retrievalInstructionId}"),
    ("bedrock-agent", "ValidateFlowDefinition", "POST", "/flows/validate-definition"),
    ("bedrock-agent-runtime", "AgenticRetrieveStream", "POST", "/agenticRetrieveStream"),
    ("bedrock-agent-runtime", "CheckIngestedDocumentAcl", "POST", "/knowledgebases/{knowledgeBaseId}/datasources/{dataSourceId}/check-ingested-document-acl"),
    ("bedrock-agent-runtime", "CreateInvocation", "PUT", "/sessions/{sessionIdentifier}/invocations/"),
    ("bedrock-agent-runtime", "CreateSession", "PUT", "/sessions/"),
    ("bedrock-agent-runtime", "DeleteAgentMemory", "DELETE", "/agents/{agentId}/agentAliases/{agentAliasId}/memories"),
    ("bedrock-agent-runtime", "DeleteSession", "DELETE", "/sessions/{sessionIdentifier}/"),
    ("bedrock-agent-runtime", "EndSession", "PATCH", "/sessions/{sessionIdentifier}"),
    ("bedrock-agent-runtime", "GenerateQuery", "POST", "/generateQuery"),
    ("bedrock-agent-runtime", "GetAgentMemory", "GET", "/agents/{agentId}/agentAliases/{agentAliasId}/memories"),
    ("bedrock-agent-runtime", "GetDocumentContent", "POST", "/knowledgebases/{knowledgeBaseId}/datasources/{dataSourceId}/documents/{documentId}/content"),
    ("bedrock-agent-runtime", "GetExecutionFlowSnapshot", "GET", "/flows/{flowIdentifier}/aliases/{flowAliasIdentifier}/executions/{executionIdentifier}/flowsnapshot"),
    ("bedrock-agent-runtime", "GetFlowExecution", "GET", "/flows/{flowIdentifier}/aliases/{flowAliasIdentifier}/executions/{executionIdentifier}"),
    ("bedrock-agent-runtime", "GetIngestedDocumentAcl", "POST", "/knowledgebases/{knowledgeBaseId}/datasources/{dataSourceId}/get-ingested-document-acl"),
    ("bedrock-agent-runtime", "GetInvocationStep", "POST", "/sessions/{sessionIdentifier}/invocationSteps/{invocationStepId}"),
    ("bedrock-agent-runtime", "GetSession", "GET", "/sessions/{sessionIdentifier}/"),
    ("bedrock-agent-runtime", "InvokeAgent", "POST", "/agents/{agentId}/agentAliases/{agentAliasId}/sessions/{sessionId}/text"),
    ("bedrock-agent-runtime", "InvokeFlow", "POST", "/flows/{flowIdentifier}/aliases/{flowAliasIdentifier}"),
    ("bedrock-agent-runtime", "InvokeInlineAgent", "POST", "/agents/{sessionId}"),
    ("bedrock-agent-runtime", "ListFlowExecutionEvents", "GET", "/flows/{flowIdentifier}/aliases/{flowAliasIdentifier}/executions/{executionIdentifier}/events"),
    ("bedrock-agent-runtime", "ListFlowExecutions", "GET", "/flows/{flowIdentifier}/executions"),
    ("bedrock-agent-runtime", "ListInvocationSteps", "POST", "/sessions/{sessionIdentifier}/invocationSteps/"),
    ("bedrock-agent-runtime", "ListInvocations", "POST", "/sessions/{sessionIdentifier}/invocations/"),
    ("bedrock-agent-runtime", "ListSessions", "POST", "/sessions/"),
    ("bedrock-agent-runtime", "ListTagsForResource", "GET", "/tags/{resourceArn}"),
    ("bedrock-agent-runtime", "OptimizePrompt", "POST", "/optimize-prompt"),
    ("bedrock-agent-runtime", "PutInvocationStep", "PUT", "/sessions/{sessionIdentifier}/invocationSteps/"),
    ("bedrock-agent-runtime", "Rerank", "POST", "/rerank"),
    ("bedrock-agent-runtime", "Retrieve", "POST", "/knowledgebases/{knowledgeBaseId}/retrieve"),
    ("bedrock-agent-runtime", "RetrieveAndGenerate", "POST", "/retrieveAndGenerate"),
    ("bedrock-agent-runtime", "RetrieveAndGenerateStream", "POST", "/retrieveAndGenerateStream"),
    ("bedrock-agent-runtime", "StartFlowExecution", "POST", "/flows/{flowIdentifier}/aliases/{flowAliasIdentifier}/executions"),
    ("bedrock-agent-runtime", "StopFlowExecution", "POST", "/flows/{flowIdentifier}/aliases/{flowAliasIdentifier}/executions/{executionIdentifier}/stop"),
    ("bedrock-agent-runtime", "TagResource", "POST", "/tags/{resourceArn}"),
    ("bedrock-agent-runtime", "UntagResource", "DELETE", "/tags/{resourceArn}"),
    ("bedrock-agent-runtime", "UpdateSession", "PUT", "/sessions/{sessionIdentifier}/"),
];

/// The order services are added in: runtime first (the hot path), then the
/// control plane, then the agent services.
const SERVICE_ORDER: [&str; 4] = [
    "bedrock-runtime",
    "bedrock",
    "bedrock-agent",
    "bedrock-agent-runtime",
];

fn bedrock_table() -> RouteTable<(&'static str, &'static str)> {
    let mut table = RouteTable::new();
    for service in SERVICE_ORDER {
        for (svc, op, method, uri) in BEDROCK_ROUTES {
            if *svc == service {
                let method = Method::from_bytes(method.as_bytes()).unwrap();
                table.add(svc, method, uri, (*svc, *op)).unwrap();
            }
        }
    }
    table
}

/// Fills a template's labels the way botocore encodes them.
fn fill(template: &str, value: &str) -> String {
    let mut out = String::new();
    let mut rest = template;
    while let Some(start) = rest.find('{') {
        out.push_str(&rest[..start]);
        let end = rest[start..].find('}').unwrap() + start;
        let greedy = rest[start..end].ends_with('+');
        out.push_str(&encode(value, greedy));
        rest = &rest[end + 1..];
    }
    out.push_str(rest);
    out
}

/// botocore's percent_encode: safe '-_.~' (and '/' for greedy labels).
fn encode(value: &str, greedy: bool) -> String {
    let mut out = String::new();
    for b in value.bytes() {
        if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) || (greedy && b == b'/') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[test]
fn every_bedrock_operation_routes_to_itself() {
    let table = bedrock_table();
    assert_eq!(table.len(), BEDROCK_ROUTES.len());
    for value in [
        "x1",
        "arn:aws:bedrock:us-east-1:123456789012:agent/AB12/version 1",
        "日本",
    ] {
        for (svc, op, method, uri) in BEDROCK_ROUTES {
            let path = fill(uri, value);
            let method = Method::from_bytes(method.as_bytes()).unwrap();
            let m = table
                .route(&method, &path, None)
                .unwrap_or_else(|e| panic!("{svc} {op} {path}: {e}"));
            assert_eq!(m.value.1, *op, "{svc} {op} {path} routed to {:?}", m.value);
            // The only cross-service collisions are the agent tagging
            // operations (same meaning in both), won by bedrock-agent.
            if m.value.0 != *svc {
                assert!(
                    ["TagResource", "UntagResource", "ListTagsForResource"].contains(op),
                    "{svc} {op}"
                );
                assert_eq!(
                    (*svc, m.service),
                    ("bedrock-agent-runtime", "bedrock-agent")
                );
            }
            for (_, v) in &m.labels {
                assert_eq!(v, value);
            }
        }
    }
}

#[test]
fn collisions_are_exactly_the_documented_ones() {
    let table = bedrock_table();
    let overlaps: Vec<_> = table
        .overlaps()
        .into_iter()
        .map(|(a, b)| {
            let (sa, ma, ta) = table.describe(a).unwrap();
            let (sb, mb, tb) = table.describe(b).unwrap();
            assert_eq!(ma, mb);
            (ma.to_string(), sa, ta.to_owned(), sb, tb.to_owned())
        })
        .collect();
    assert_eq!(overlaps.len(), 3, "{overlaps:#?}");
    for (_, winner, t1, loser, t2) in &overlaps {
        assert_eq!(
            (*winner, *loser),
            ("bedrock-agent", "bedrock-agent-runtime")
        );
        assert_eq!(
            (t1.as_str(), t2.as_str()),
            ("/tags/{resourceArn}", "/tags/{resourceArn}")
        );
    }
}

#[test]
fn trailing_slash_separates_prepare_agent_from_invoke_inline_agent() {
    let table = bedrock_table();
    let m = table
        .route(&Method::POST, "/agents/AGENT123/", None)
        .unwrap();
    assert_eq!(m.value, &("bedrock-agent", "PrepareAgent"));
    assert_eq!(m.label("agentId"), Some("AGENT123"));
    let m = table
        .route(&Method::POST, "/agents/session-1", None)
        .unwrap();
    assert_eq!(m.value, &("bedrock-agent-runtime", "InvokeInlineAgent"));
    assert_eq!(m.label("sessionId"), Some("session-1"));
    // No route has a double trailing slash or an empty label.
    assert!(table.route(&Method::POST, "/agents//", None).is_err());
    assert_eq!(
        table
            .route(&Method::POST, "/agents/", None)
            .unwrap()
            .value
            .1,
        "ListAgents"
    );
}

#[test]
fn runtime_paths_and_label_decoding() {
    let table = bedrock_table();
    let m = table
        .route(&Method::POST, "/model/sekisho.echo-v1/converse", None)
        .unwrap();
    assert_eq!(m.service, "bedrock-runtime");
    assert_eq!(m.value.1, "Converse");
    assert_eq!(m.template, "/model/{modelId}/converse");
    assert_eq!(m.label("modelId"), Some("sekisho.echo-v1"));
    assert_eq!(m.label("nope"), None);

    // An ARN as botocore sends it: ':' as %3A, '/' as %2F, decoded once.
    let arn = "arn:aws:bedrock:us-east-1::foundation-model/anthropic.claude-3-haiku-20240307-v1:0";
    let path = format!("/model/{}/converse-stream", encode(arn, false));
    assert!(path.contains("%3A") && path.contains("%2F"));
    let m = table.route(&Method::POST, &path, None).unwrap();
    assert_eq!(m.value.1, "ConverseStream");
    assert_eq!(m.label("modelId"), Some(arn));
    // Lower-case escapes too.
    let m = table
        .route(&Method::POST, "/model/a%3ab%2fc/invoke", None)
        .unwrap();
    assert_eq!(m.label("modelId"), Some("a:b/c"));
    // Double-encoded stays encoded once.
    let m = table
        .route(&Method::POST, "/model/a%252Fb/invoke", None)
        .unwrap();
    assert_eq!(m.label("modelId"), Some("a%2Fb"));
    // A raw slash is a separator: this is not a model id with a slash.
    assert_eq!(
        table
            .route(&Method::POST, "/model/a/b/invoke", None)
            .unwrap_err()
            .kind,
        ErrorKind::UnknownOperation
    );

    let m = table
        .route(&Method::POST, "/guardrail/gr-123/version/DRAFT/apply", None)
        .unwrap();
    assert_eq!(m.value, &("bedrock-runtime", "ApplyGuardrail"));
    assert_eq!(
        m.labels,
        vec![
            ("guardrailIdentifier".to_owned(), "gr-123".to_owned()),
            ("guardrailVersion".to_owned(), "DRAFT".to_owned())
        ]
    );

    let m = table
        .route_uri(
            &Method::GET,
            &"/async-invoke?maxResults=5&nextToken=a%2Bb"
                .parse()
                .unwrap(),
        )
        .unwrap();
    assert_eq!(m.value.1, "ListAsyncInvokes");
    assert_eq!(m.query.one("maxResults").unwrap(), Some("5"));
    assert_eq!(m.query.first("nextToken"), Some("a+b"));
}

#[test]
fn path_tricks_are_refused() {
    let table = bedrock_table();
    for path in [
        "/model/../converse",
        "/model/%2E%2E/converse",
        "/model/%2e%2e/converse",
        "/model/./converse",
        "/model/%2E/converse",
        "/model/a%2F..%2Fb/converse",
        "/model/..%2Fx/converse",
        "/model/x%2F.%2Fy/converse",
        "/model/..",
        "/../model/x/converse",
        "/model/a%00b/converse",
        "/model/a%0Ab/converse",
        "/model/a%7Fb/converse",
        "/model/a%/converse",
        "/model/a%2/converse",
        "/model/a%zz/converse",
        "/model/x/converse%",
        "/model/%FF/converse",
        "/model/%C0%AF/converse",
        "/model/%ED%A0%80/converse",
        "model/x/converse",
        "",
    ] {
        let e = table.route(&Method::POST, path, None).unwrap_err();
        assert_eq!(e.kind, ErrorKind::Validation, "{path:?}: {e}");
        assert_eq!(e.code(Dialect::Json), "ValidationException");
    }
    // '..' inside a longer name is fine.
    let m = table
        .route(&Method::POST, "/model/a..b/converse", None)
        .unwrap();
    assert_eq!(m.label("modelId"), Some("a..b"));
    // Unknown paths and wrong methods are UnknownOperation.
    let e = table
        .route(&Method::POST, "/model/x/explode", None)
        .unwrap_err();
    assert_eq!(e.kind, ErrorKind::UnknownOperation);
    let e = table
        .route(&Method::GET, "/model/x/converse", None)
        .unwrap_err();
    assert_eq!(e.kind, ErrorKind::UnknownOperation);
    assert!(e.message.contains("GET"));
    // Trailing slash is significant.
    assert!(
        table
            .route(&Method::POST, "/model/x/converse/", None)
            .is_err()
    );
    assert!(
        table
            .route(&Method::POST, "/model//converse", None)
            .is_err()
    );
}

#[test]
fn limits_and_hostile_paths() {
    let table = bedrock_table();
    let long = format!("/model/{}/converse", "a".repeat(5000));
    assert!(
        table
            .route(&Method::POST, &long, None)
            .unwrap_err()
            .message
            .contains("maximum length")
    );
    let many = "/a".repeat(100);
    assert!(
        table
            .route(&Method::GET, &many, None)
            .unwrap_err()
            .message
            .contains("segments")
    );
    let limits = PathLimits::default();
    assert!(decode_path("/x", &limits).is_ok());
    let q = "a=1&".repeat(101);
    assert!(
        QueryString::parse(&q, &limits)
            .unwrap_err()
            .message
            .contains("more than 100")
    );
    assert!(QueryString::parse(&"x".repeat(9000), &limits).is_err());
    for bad in ["a=%", "a=%G1", "%FF=1", "a=%00"] {
        assert_eq!(
            QueryString::parse(bad, &limits).unwrap_err().kind,
            ErrorKind::Validation,
            "{bad}"
        );
    }
    // Bad query strings fail routing cleanly too.
    assert!(
        table
            .route(&Method::POST, "/model/x/converse", Some("a=%"))
            .is_err()
    );

    // Pseudo-random paths over an awkward alphabet never panic.
    let alphabet = [
        "/",
        "%",
        "2F",
        "2E",
        ".",
        "..",
        "model",
        "{",
        "}",
        "+",
        "%00",
        "x",
        "%E6%97%A5",
        "%FF",
        "converse",
        "agents",
        "/",
    ];
    let mut state: u64 = 0x2545_F491_4F6C_DD1D;
    for _ in 0..20_000 {
        let mut path = String::from("/");
        for _ in 0..(state % 12) {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            path.push_str(alphabet[(state % alphabet.len() as u64) as usize]);
        }
        state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let _ = table.route(&Method::POST, &path, Some(&path));
    }
}

#[test]
fn greedy_labels_and_query_literals() {
    let mut t: RouteTable<&str> = RouteTable::new();
    let get_obj = t
        .add("s", Method::GET, "/objects/{key+}", "GetObject")
        .unwrap();
    t.add("s", Method::GET, "/objects/{key+}/meta", "GetMeta")
        .unwrap();
    t.add("s", Method::GET, "/objects/special", "Special")
        .unwrap();
    t.add("s", Method::GET, "/objects/{key+}?tagging", "GetTagging")
        .unwrap();
    t.add("s", Method::GET, "/x/{a}?x-id=One", "One").unwrap();
    t.add("s", Method::GET, "/x/{a}?x-id=Two", "Two").unwrap();

    let m = t.route(&Method::GET, "/objects/a/b%20c/d", None).unwrap();
    assert_eq!((m.id, *m.value), (get_obj, "GetObject"));
    assert_eq!(m.label("key"), Some("a/b c/d"));
    let m = t.route(&Method::GET, "/objects/a/b/meta", None).unwrap();
    assert_eq!((*m.value, m.label("key")), ("GetMeta", Some("a/b")));
    // Literal beats greedy.
    assert_eq!(
        *t.route(&Method::GET, "/objects/special", None)
            .unwrap()
            .value,
        "Special"
    );
    // A required query parameter makes a route more specific.
    assert_eq!(
        *t.route(&Method::GET, "/objects/a/b", Some("tagging"))
            .unwrap()
            .value,
        "GetTagging"
    );
    assert_eq!(
        *t.route(&Method::GET, "/x/1", Some("x-id=Two"))
            .unwrap()
            .value,
        "Two"
    );
    assert_eq!(
        *t.route(&Method::GET, "/x/1", Some("x-id=One"))
            .unwrap()
            .value,
        "One"
    );
    assert!(t.route(&Method::GET, "/x/1", Some("x-id=Three")).is_err());
    assert!(t.route(&Method::GET, "/x/1", None).is_err());
    // A greedy label takes at least one non-empty segment, and '..' still is refused.
    assert!(t.route(&Method::GET, "/objects/", None).is_err());
    assert!(t.route(&Method::GET, "/objects/a//b", None).is_err());
    assert_eq!(
        t.route(&Method::GET, "/objects/a/../b", None)
            .unwrap_err()
            .kind,
        ErrorKind::Validation
    );

    // Overlap report includes greedy overlaps, winner first.
    let overlaps = t.overlaps();
    assert!(overlaps.contains(&(RouteId(2), RouteId(0))), "{overlaps:?}");
    assert!(
        overlaps.contains(&(RouteId(1), RouteId(0)))
            || overlaps.contains(&(RouteId(0), RouteId(1)))
    );

    // Bad templates are refused at registration.
    for bad in [
        "nope",
        "/a/{b",
        "/a/{b}{c}",
        "/a/{b+}/{c+}",
        "/a/{b}/{b}",
        "/a//b",
        "/a/../b",
        "/a/{b-c}",
    ] {
        assert!(t.add("s", Method::GET, bad, "bad").is_err(), "{bad}");
    }
}

#[test]
fn query_strings() {
    let limits = PathLimits::default();
    let q =
        QueryString::parse("tagKeys=a&tagKeys=b%20c&empty&plus=a+b&enc=%2B&=v", &limits).unwrap();
    assert_eq!(q.all("tagKeys"), vec!["a", "b c"]);
    assert_eq!(q.first("empty"), Some(""));
    assert_eq!(q.first("plus"), Some("a b"));
    assert_eq!(q.first("enc"), Some("+"));
    assert_eq!(q.first(""), Some("v"));
    assert!(q.one("tagKeys").is_err());
    assert_eq!(q.one("missing").unwrap(), None);
    assert_eq!(q.pairs().len(), 6);
    assert!(QueryString::parse("", &limits).unwrap().is_empty());
}

#[test]
fn json_bodies() {
    let limits = JsonLimits::default();
    let body = br#"{"messages":[{"role":"user","content":[{"text":"hi"}]}]}"#;
    let map = parse_json_body(Some("application/json"), body, &limits).unwrap();
    assert_eq!(map["messages"][0]["role"], "user");
    assert!(parse_json_body(None, body, &limits).is_ok());
    assert!(parse_json_body(Some("Application/JSON; charset=UTF-8"), body, &limits).is_ok());
    assert!(parse_json_body(Some("text/plain"), body, &limits).is_err());
    assert!(
        parse_json_body(Some("application/json"), b"", &limits)
            .unwrap()
            .is_empty()
    );
    let e = parse_json_body(None, b"{\"a\":", &limits).unwrap_err();
    assert_eq!(e.code(Dialect::Json), "ValidationException");
    let e = parse_json_body(None, br#"{"modelId":"a","modelId":"b"}"#, &limits).unwrap_err();
    assert!(e.message.contains("duplicate key"));
    let deep = "[".repeat(10_000);
    assert_eq!(
        parse_json_body(None, deep.as_bytes(), &limits)
            .unwrap_err()
            .kind,
        ErrorKind::Validation
    );
    let big = vec![b' '; 2 << 20];
    assert_eq!(
        parse_json_body(None, &big, &limits).unwrap_err().kind,
        ErrorKind::PayloadTooLarge
    );
}

#[test]
fn error_shape() {
    let e = ApiError::new(
        ErrorKind::Throttling,
        "Too many requests, please wait before trying again.",
    );
    let r = restjson::error_response(&e, "rid-1");
    assert_eq!(r.status(), 429);
    assert_eq!(r.headers()["x-amzn-ErrorType"], "ThrottlingException");
    assert_eq!(r.headers()["x-amzn-RequestId"], "rid-1");
    assert_eq!(r.headers()["content-type"], "application/json");
    let v: Value = serde_json::from_slice(r.body()).unwrap();
    assert_eq!(
        v,
        json!({"message": "Too many requests, please wait before trying again."})
    );

    let r = restjson::json_response(200, &json!({"output": {}}), "r");
    assert_eq!(r.headers()["content-type"], "application/json");
    let r = restjson::raw_response(
        200,
        "application/octet-stream",
        bytes::Bytes::from_static(b"\x00\x01"),
        "r",
    );
    assert_eq!(&r.body()[..], b"\x00\x01");
}
