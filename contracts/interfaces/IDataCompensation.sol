// SPDX-License-Identifier: MIT
pragma solidity ^0.8.20;

/// @title IDataCompensation
/// @notice The data contribution & compensation registry (contracts/DataCompensation.sol),
///         predeployed at 0xA070000000000000000000000000000000000003 on every EVM domain.
///         Contributors acting for an Auto ID register data (content hash, license, metadata hash,
///         an optional minimum Auto Score a consumer must meet) and may withdraw consent for future
///         use; consumers fund rounds in the native token over consenting contributions; the
///         round's governance-admitted valuer posts weights; shares floor(amount * w / Σw) are
///         credited to payees, the rounding dust to the round's funder; everyone withdraws (pull).
interface IDataCompensation {
    struct Contribution {
        bytes32 contributorId;
        bytes32 contentHash;
        bytes32 license;
        bytes32 metadataHash;
        address payee;
        uint64 registeredAt;
        uint8 minConsumerScore;
        bool consent;
    }

    enum RoundStatus { None, Funded, Valued, Refunded }

    struct Round {
        address funder;
        address valuer;
        bytes32 consumerId;
        uint128 amount;
        uint64 fundedAt;
        RoundStatus status;
        uint256 totalWeight;
        uint256 dust;
    }

    event ContributionRegistered(uint256 indexed contributionId, bytes32 indexed contributorId,
                                 bytes32 indexed contentHash, bytes32 license, bytes32 metadataHash,
                                 uint8 minConsumerScore, address payee);
    event PayeeChanged(uint256 indexed contributionId, address payee);
    event ConsentWithdrawn(uint256 indexed contributionId, bytes32 indexed contributorId);
    event ConsentRestored(uint256 indexed contributionId, bytes32 indexed contributorId);
    event RoundFunded(uint256 indexed roundId, address indexed funder, address indexed valuer,
                      bytes32 consumerId, uint256 amount, uint256[] contributionIds);
    event ContributionUsed(uint256 indexed roundId, uint256 indexed contributionId);
    event ShareCredited(uint256 indexed roundId, uint256 indexed contributionId, address indexed payee,
                        uint256 weight, uint256 amount);
    event RoundValued(uint256 indexed roundId, address indexed valuer, uint256 totalWeight, uint256 dust);
    event RoundRefunded(uint256 indexed roundId, address indexed funder, uint256 amount);
    event Withdrawn(address indexed account, uint256 amount);
    event ValuerSet(address indexed valuer, bool admitted);
    event MinContributorScoreSet(uint8 score);
    event GovernanceTransferred(address indexed previous, address indexed next);

    // contributions
    function registerContribution(bytes32 contributorId, bytes32 contentHash, bytes32 license,
                                  bytes32 metadataHash, uint8 minConsumerScore) external returns (uint256 contributionId);
    function setPayee(uint256 contributionId, address payee) external;
    function withdrawConsent(uint256 contributionId) external;
    function restoreConsent(uint256 contributionId) external;

    // rounds and payments
    function fundRound(bytes32 consumerId, address valuer, uint256[] calldata contributionIds)
        external payable returns (uint256 roundId);
    function postWeights(uint256 roundId, uint256[] calldata weights) external;
    function refundRound(uint256 roundId) external;
    function withdraw() external returns (uint256 amount);

    // governance
    function setValuer(address valuer, bool admitted) external;
    function setMinContributorScore(uint8 score) external;
    function transferGovernance(address next) external;

    // views
    function MAX_ROUND_CONTRIBUTIONS() external view returns (uint256);
    function VALUATION_PERIOD() external view returns (uint256);
    function MAX_SCORE() external view returns (uint8);
    function autoId() external view returns (address);
    function autoScore() external view returns (address);
    function governance() external view returns (address);
    function minContributorScore() external view returns (uint8);
    function isValuer(address account) external view returns (bool);
    function contributionOfContent(bytes32 contentHash) external view returns (uint256);
    function contributionCount() external view returns (uint256);
    function roundCount() external view returns (uint256);
    function owed(address account) external view returns (uint256);
    function getContribution(uint256 contributionId) external view returns (Contribution memory);
    function isUsable(uint256 contributionId) external view returns (bool);
    function getRound(uint256 roundId) external view returns (Round memory);
    function roundContributions(uint256 roundId) external view returns (uint256[] memory);
}
